// Package cli is kinc's command line.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// Version is set at link time (-X github.com/kinc-dev/kinc/cli.Version=...).
var Version = "v0.1.0-dev"

// globals are the flags every command shares.
type globals struct {
	stdout, stderr io.Writer
	// getenv reads the environment (KINC_CLUSTER_NAME, NO_COLOR, CI).
	getenv func(string) string
	// quiet (-q): progress and information are dropped; errors and the
	// output asked for (get ..., kubeconfigs, dry-run commands) stay.
	quiet bool
}

// info is where progress and information lines go: stdout, or nowhere with -q.
func (g *globals) info() io.Writer {
	if g.quiet {
		return io.Discard
	}
	return g.stdout
}

// live says whether progress may redraw a running stage's clock in place:
// stdout is a terminal, NO_COLOR and CI are unset, and no command lines
// (-v, --dry-run) or quiet mode (-q) share the screen.
func (g *globals) live(c *ucli.Context) bool {
	if g.quiet || c.Bool("verbose") || c.Bool("dry-run") || g.getenv("NO_COLOR") != "" || g.getenv("CI") != "" {
		return false
	}
	f, ok := g.stdout.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
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
	if err := checkProvider(c, false); err != nil {
		return nil, err
	}
	rt, err := providers.Select(c.Context, g.runner(c), c.String("provider"))
	if err == nil {
		rt.SetTimeoutScale(c.Float64("timeout-scale"))
	}
	return rt, err
}

// checkProvider refuses a --provider (or KINC_PROVIDER) that names no
// runtime as bad usage; "all" only where allowAll.
func checkProvider(c *ucli.Context, allowAll bool) error {
	p := c.String("provider")
	if p == "" || slices.Contains(providers.Names(), p) || (allowAll && p == "all") {
		return nil
	}
	use := strings.Join(providers.Names(), " or ")
	if allowAll {
		use = strings.Join(providers.Names(), ", ") + " or all"
	}
	return usageError(c, "--provider %q (or KINC_PROVIDER): use %s", p, use)
}

// Main runs kinc with argv (os.Args) and returns the process exit code; an
// error is printed once, to stderr, followed by its notes.
func Main(ctx context.Context, argv []string, stdout, stderr io.Writer) int {
	err := Run(ctx, argv, stdout, stderr)
	if err != nil {
		printError(stderr, err)
	}
	return ExitCode(err)
}

// Run runs kinc with argv, flags anywhere on the line (see reorderArgs).
func Run(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	app := NewApp(stdout, stderr)
	return app.RunContext(ctx, reorderArgs(app, argv))
}

// NewApp builds kinc's command tree.
func NewApp(stdout, stderr io.Writer) *ucli.App {
	g := &globals{stdout: stdout, stderr: stderr, getenv: os.Getenv}
	app := &ucli.App{
		Name:                 "kinc",
		Usage:                "Kubernetes IN Containers: kubeadm clusters whose nodes are docker or podman containers",
		UsageText:            "kinc [global options] COMMAND [options] [ARGS]   (flags may come anywhere)",
		Version:              Version,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideVersion:          true,
		// Main prints errors and chooses the exit code.
		ExitErrHandler: func(*ucli.Context, error) {},
		OnUsageError:   onUsageError,
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log every command kinc runs, shell-escaped"},
			&ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print errors only (and the output asked for: get, kubeconfigs, dry-run commands)"},
			&ucli.BoolFlag{Name: "dry-run", Usage: "change nothing: print the commands kinc would run (read-only queries still run)"},
			&ucli.StringFlag{Name: "provider", Usage: "container runtime: docker or podman (default: docker if it answers, else podman)", EnvVars: []string{"KINC_PROVIDER"}},
			&ucli.Float64Flag{Name: "timeout-scale", EnvVars: []string{"KINC_TIMEOUT_SCALE"}, Value: 1,
				Usage: "multiply kinc's fixed waits (runtime probe 15s and info 30s, node paused 60s, containerd after boot 90s, clean-up 2m, kubeadm's own timeouts) by this, for slow hosts such as emulated VMs; --wait is separate"},
			&ucli.BoolFlag{Name: "version", Usage: "print kinc's version"},
		},
		Before: func(c *ucli.Context) error {
			g.quiet = c.Bool("quiet")
			return nil
		},
		Action: func(c *ucli.Context) error {
			switch {
			case c.Bool("version"):
				_, err := fmt.Fprintf(g.stdout, "kinc %s\n", Version)
				return err
			case c.NArg() > 0:
				return usageError(c, "unknown command %q", c.Args().First())
			}
			return ucli.ShowAppHelp(c)
		},
		Commands: []*ucli.Command{
			versionCommand(g),
			doctorCommand(g),
			specCommand(g),
			convertCommand(g),
			buildCommand(g),
			createCommand(g),
			deleteCommand(g),
			getCommand(g),
			loadCommand(g),
			stopCommand(g),
			startCommand(g),
			exportCommand(g),
			completionCommand(g),
		},
	}
	guardCommands(app.Commands)
	return app
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

// positional returns a command's arguments, at least min and at most max of
// them (max < 0: any number); others are a usage error naming the command's
// usage line.
func positional(c *ucli.Context, min, max int) ([]string, error) {
	args := c.Args().Slice()
	if len(args) < min {
		return nil, usageError(c, "want %s", c.Command.ArgsUsage)
	}
	if max >= 0 && len(args) > max {
		return nil, usageError(c, "too many arguments: %q", args)
	}
	return args, nil
}
