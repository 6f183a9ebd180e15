package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/go-multierror"
	ucli "github.com/urfave/cli/v2"
)

// Exit codes, documented in the README ("Exit codes").
const (
	// ExitOK: the command did what was asked (a cluster that was already
	// gone counts: delete exits 0).
	ExitOK = 0
	// ExitFailed: the command ran and failed (a runtime error, a bad spec
	// file, a host that cannot run clusters, a cluster not found by get).
	ExitFailed = 1
	// ExitUsage: the command line is wrong (unknown command or flag, a bad
	// flag value, too many arguments); nothing was done.
	ExitUsage = 2
	// ExitInterrupted: stopped by SIGINT or SIGTERM (after cleaning up).
	ExitInterrupted = 130
)

// UsageError is a command line kinc cannot run; it carries the usage line
// of the command it was meant for.
type UsageError struct {
	Command string // e.g. "kinc delete cluster"
	Msg     string
	Usage   string // e.g. "kinc delete cluster [options] [NAME]"
}

func (e *UsageError) Error() string {
	msg := e.Command + ": " + e.Msg
	if e.Usage != "" {
		msg += "\nUsage: " + e.Usage
	}
	return msg + fmt.Sprintf("\nRun '%s --help' for more.", e.Command)
}

// ExitCode implements urfave/cli's ExitCoder.
func (e *UsageError) ExitCode() int { return ExitUsage }

// usageError is a UsageError for the command c runs.
func usageError(c *ucli.Context, format string, args ...any) error {
	name, usage := "kinc", "kinc [global options] COMMAND [options] [ARGS]"
	if c != nil && c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		name = c.Command.HelpName
		usage = usageLine(c.Command)
	}
	return &UsageError{Command: name, Msg: fmt.Sprintf(format, args...), Usage: usage}
}

func usageLine(cmd *ucli.Command) string {
	line := cmd.HelpName
	var names []string
	for _, s := range cmd.Subcommands {
		if s.Name != "help" {
			names = append(names, s.Name)
		}
	}
	if len(names) > 0 {
		return line + " " + strings.Join(names, "|") + " [options]"
	}
	if len(cmd.VisibleFlags()) > 0 {
		line += " [options]"
	}
	if cmd.ArgsUsage != "" {
		line += " " + cmd.ArgsUsage
	}
	return line
}

// Noter is an error that comes with plain information for the user (where
// the logs are, what was kept): printed after the error, not as errors.
type Noter interface {
	Notes() []string
}

// ExitCode maps an error from the app to a process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	var coder ucli.ExitCoder
	if errors.As(err, &coder) {
		return coder.ExitCode()
	}
	return ExitFailed
}

// printError prints err once, as "ERROR: ...", then its notes as plain lines.
func printError(w io.Writer, err error) {
	msg := err.Error()
	// go-multierror's own format says "1 error occurred" around a single
	// failure; several get one line each.
	if merr, ok := err.(*multierror.Error); ok && merr.ErrorFormat == nil {
		if errs := merr.WrappedErrors(); len(errs) == 1 {
			msg = errs[0].Error()
		} else if len(errs) > 1 {
			var b strings.Builder
			fmt.Fprintf(&b, "%d errors:", len(errs))
			for _, e := range errs {
				b.WriteString("\n  " + strings.ReplaceAll(e.Error(), "\n", "\n    "))
			}
			msg = b.String()
		}
	}
	if msg == "" {
		return
	}
	fmt.Fprintln(w, "ERROR:", msg)
	var n Noter
	if errors.As(err, &n) {
		for _, note := range n.Notes() {
			fmt.Fprintln(w, note)
		}
	}
}

// guardCommands makes every command of the tree strict: a flag error is a
// UsageError (no help dump, printed once by Main), a group command run
// without a known subcommand is a UsageError, and a command that declares no
// ArgsUsage refuses arguments. Commands added to the tree get this for free.
func guardCommands(cmds []*ucli.Command) {
	for _, cmd := range cmds {
		cmd.OnUsageError = onUsageError
		if len(cmd.Subcommands) > 0 {
			guardCommands(cmd.Subcommands)
			if cmd.Action == nil {
				cmd.Action = groupAction
			}
			continue
		}
		// A leaf's one help is -h/--help: "kinc delete cluster help"
		// deletes the cluster named help.
		cmd.HideHelpCommand = true
		if cmd.ArgsUsage == "" && cmd.Action != nil {
			action := cmd.Action
			cmd.Action = func(c *ucli.Context) error {
				if c.NArg() > 0 {
					return usageError(c, "takes no arguments, got %q", c.Args().Slice())
				}
				return action(c)
			}
		}
	}
}

func onUsageError(c *ucli.Context, err error, _ bool) error {
	return usageError(c, "%v", err)
}

// groupAction runs for "kinc create" and the like: a subcommand is missing
// or unknown.
func groupAction(c *ucli.Context) error {
	if c.NArg() > 0 {
		return usageError(c, "unknown command %q", c.Args().First())
	}
	return usageError(c, "name what to %s", c.Command.Name)
}
