package cli

import ucli "github.com/urfave/cli/v2"

func specCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "spec", Usage: "work with cluster spec files", Subcommands: []*ucli.Command{
		{Name: "validate", Usage: "validate a cluster spec and print it with defaults filled in", ArgsUsage: "FILE", Action: notImplemented},
	}}
}
