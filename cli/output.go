package cli

import (
	"encoding/json"
	"io"

	ucli "github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"
)

// outputFlag is -o/--output for commands that print data scripts read.
func outputFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output `FORMAT`: table, json or yaml (stable field names, see the README)"}
}

// printOutput writes v as the -o format asks: JSON (indented, one document),
// YAML, or, by default, the command's table. v should be a slice, so that an
// empty result is [] and not null.
func printOutput(c *ucli.Context, w io.Writer, v any, table func(io.Writer) error) error {
	switch c.String("output") {
	case "", "table":
		return table(w)
	case "json":
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(data, '\n'))
		return err
	case "yaml":
		data, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	default:
		return usageError(c, "-o %q: use table, json or yaml", c.String("output"))
	}
}

// checkOutput refuses an unknown -o before the command does any work.
func checkOutput(c *ucli.Context) error {
	switch c.String("output") {
	case "", "table", "json", "yaml":
		return nil
	}
	return usageError(c, "-o %q: use table, json or yaml", c.String("output"))
}
