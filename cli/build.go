package cli

import ucli "github.com/urfave/cli/v2"

func buildCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "build", Usage: "build images", Subcommands: []*ucli.Command{
		{Name: "node-image", Usage: "build the node image clusters boot from", Action: notImplemented},
	}}
}
