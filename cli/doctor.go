package cli

import ucli "github.com/urfave/cli/v2"

func doctorCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "doctor", Usage: "report what the provider detected on this host and whether clusters can run", Action: notImplemented}
}
