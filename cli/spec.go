package cli

import (
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"github.com/kinc-dev/kinc/lifecycle/spec"
)

func specCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "spec", Usage: "work with cluster spec files", Subcommands: []*ucli.Command{
		{
			Name:      "validate",
			Usage:     "validate a cluster spec and print it with defaults filled in",
			ArgsUsage: "FILE",
			Description: "Reads the TOML cluster spec FILE strictly (unknown keys and wrong types are errors),\n" +
				"fills in the defaults and checks it. Prints the complete spec as TOML and exits 0,\n" +
				"or prints every problem (file:line: key: what is wrong) and exits 1.\n" +
				"Needs no container runtime.",
			Action: func(c *ucli.Context) error { return specValidate(g, c) },
		},
	}}
}

func specValidate(g *globals, c *ucli.Context) error {
	if c.NArg() != 1 {
		return usageError(c, "want exactly one FILE, got %d arguments", c.NArg())
	}
	file := c.Args().First()
	cluster, err := spec.Load(file)
	if err != nil {
		return ucli.Exit(err.Error(), 1)
	}
	out, err := cluster.Encode()
	if err != nil {
		return ucli.Exit(fmt.Sprintf("encode %s: %v", file, err), 1)
	}
	if _, err := fmt.Fprintf(g.stdout, "# %s is valid; the spec with defaults filled in:\n\n", file); err != nil {
		return err
	}
	_, err = g.stdout.Write(out)
	return err
}
