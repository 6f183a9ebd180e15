// Package cli is kinc's command line.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// Version is set at link time (-X github.com/kinc-dev/kinc/cli.Version=...).
var Version = "v0.1.0-dev"

// ExitCode maps an error from the app to a process exit code.
func ExitCode(err error) int {
	var coder ucli.ExitCoder
	if errors.As(err, &coder) {
		return coder.ExitCode()
	}
	return 1
}

// globals are the flags every command shares.
type globals struct {
	stdout, stderr io.Writer
}

// runner returns the command runner the global flags ask for.
func (g *globals) runner(c *ucli.Context) run.Runner {
	r := &run.Exec{}
	if c.Bool("verbose") {
		r.Log = g.stderr
	}
	if c.Bool("dry-run") {
		return &run.DryRun{Out: g.stdout, Query: r}
	}
	return r
}

// runtime returns the provider the global flags, KINC_PROVIDER or detection select.
func (g *globals) runtime(c *ucli.Context) (*providers.Runtime, error) {
	rt, err := providers.Select(c.Context, g.runner(c), c.String("provider"))
	if err == nil {
		rt.SetTimeoutScale(c.Float64("timeout-scale"))
	}
	return rt, err
}

// NewApp builds kinc's command tree.
func NewApp(stdout, stderr io.Writer) *ucli.App {
	g := &globals{stdout: stdout, stderr: stderr}
	return &ucli.App{
		Name:                 "kinc",
		Usage:                "Kubernetes IN Containers: kubeadm clusters whose nodes are docker or podman containers",
		Version:              Version,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideVersion:          true,
		// main prints errors and chooses the exit code.
		ExitErrHandler: func(*ucli.Context, error) {},
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log every command kinc runs, shell-escaped"},
			&ucli.BoolFlag{Name: "dry-run", Usage: "print the commands kinc would run and run none"},
			&ucli.StringFlag{Name: "provider", Usage: "container runtime: docker or podman (default: docker if it answers, else podman)", EnvVars: []string{"KINC_PROVIDER"}},
			&ucli.Float64Flag{Name: "timeout-scale", EnvVars: []string{"KINC_TIMEOUT_SCALE"}, Value: 1,
				Usage: "multiply kinc's fixed waits (runtime probe 15s and info 30s, node paused 60s, containerd after boot 90s, clean-up 2m, kubeadm's own timeouts) by this, for slow hosts such as emulated VMs; --wait is separate"},
		},
		Commands: []*ucli.Command{
			versionCommand(g),
			doctorCommand(g),
			specCommand(g),
			buildCommand(g),
			createCommand(g),
			deleteCommand(g),
			getCommand(g),
			exportCommand(g),
			completionCommand(g),
		},
	}
}

func versionCommand(g *globals) *ucli.Command {
	return &ucli.Command{
		Name:  "version",
		Usage: "print kinc's version",
		Action: func(c *ucli.Context) error {
			_, err := fmt.Fprintf(g.stdout, "kinc %s\n", Version)
			return err
		},
	}
}

// positional returns a command's arguments, at most max of them (max < 0:
// any number). Flags must come before the arguments (urfave/cli stops
// parsing flags at the first argument), so a flag after one is an error
// rather than a silently ignored name.
func positional(c *ucli.Context, max int) ([]string, error) {
	args := c.Args().Slice()
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return nil, ucli.Exit(fmt.Sprintf("%s: flag %s after the arguments: put flags first, e.g. %s --name NAME %s",
				c.Command.HelpName, a, c.Command.HelpName, c.Command.ArgsUsage), 2)
		}
	}
	if max >= 0 && len(args) > max {
		return nil, ucli.Exit(fmt.Sprintf("%s: want at most %d argument(s) (%s), got %q", c.Command.HelpName, max, c.Command.ArgsUsage, args), 2)
	}
	return args, nil
}
