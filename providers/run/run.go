// Package run executes external commands for kinc. Every docker, podman and
// in-node command goes through a Runner so that it can be logged, dry-run or
// recorded in tests.
package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/alessio/shellescape"
)

// Cmd is one external command. Args[0] is the program; nothing is ever
// interpreted by a shell unless the program itself is a shell.
type Cmd struct {
	Args []string
	// Stdin, when set, is fed to the command.
	Stdin io.Reader
	// Stdout and Stderr, when set, receive the streams as they arrive, in
	// addition to the capture returned by Run.
	Stdout io.Writer
	Stderr io.Writer
	// StreamOnly sends stdout to Stdout without capturing it: for outputs
	// too large to keep (image archives). Run then returns no stdout.
	StreamOnly bool
	// Timeout bounds the command on top of the context's own deadline.
	Timeout time.Duration
	// ReadOnly marks a query that changes nothing (ps, inspect, info...);
	// a dry run still asks it so that what it prints is true.
	ReadOnly bool
	// Do, when set, makes this a file effect done in process (write,
	// rename, remove...) instead of a program: Args then only describe it,
	// as a shell-like line, for logs and dry runs. Going through the
	// runner is what lets a dry run skip (and print) it and a test record it.
	Do func() error
}

// Line is the command as a shell-escaped line, for logs and errors.
func (c Cmd) Line() string { return shellescape.QuoteCommand(c.Args) }

// Runner runs commands and returns their captured standard output.
type Runner interface {
	Run(ctx context.Context, c Cmd) ([]byte, error)
}

// Error is a failed command: its line, exit code and the tail of what it
// said.
type Error struct {
	Line     string
	ExitCode int
	// Output is the tail of stderr, or of stdout when the command wrote
	// nothing to stderr (debootstrap, for one, reports its errors on stdout).
	Output string
	Err    error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("command failed: %s: %v", e.Line, e.Err)
	if e.Output != "" {
		msg += "\n" + indent(e.Output)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode returns the exit code carried by err, or -1 when err is not a
// command failure with an exit code.
func ExitCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.ExitCode
	}
	return -1
}

const outputTailLines = 20

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// Exec runs commands for real with os/exec.
type Exec struct {
	// Log, when set, receives each command line before it runs (kinc -v).
	Log io.Writer
}

func (r *Exec) Run(ctx context.Context, c Cmd) ([]byte, error) {
	if len(c.Args) == 0 {
		return nil, errors.New("run: empty command")
	}
	if r.Log != nil {
		fmt.Fprintf(r.Log, "+ %s\n", c.Line())
	}
	if c.Do != nil {
		return nil, do(c)
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	// A killed command may leave children holding the pipes; do not wait
	// forever for them.
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdin = c.Stdin
	cmd.Stdout = tee(&stdout, c.Stdout)
	if c.StreamOnly && c.Stdout != nil {
		cmd.Stdout = c.Stdout
	}
	cmd.Stderr = tee(&stderr, c.Stderr)
	err := cmd.Run()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		said := stderr.String()
		if strings.TrimSpace(said) == "" {
			said = stdout.String()
		}
		return stdout.Bytes(), &Error{Line: c.Line(), ExitCode: exitCode(cmd), Output: Tail(said, outputTailLines), Err: err}
	}
	return stdout.Bytes(), nil
}

// do runs a file effect; its error names the effect.
func do(c Cmd) error {
	if err := c.Do(); err != nil {
		return fmt.Errorf("%s: %w", c.Line(), err)
	}
	return nil
}

func exitCode(cmd *exec.Cmd) int {
	if cmd.ProcessState == nil {
		return -1
	}
	return cmd.ProcessState.ExitCode()
}

func tee(capture *bytes.Buffer, stream io.Writer) io.Writer {
	if stream == nil {
		return capture
	}
	return io.MultiWriter(capture, stream)
}

// DryRun prints every command and file effect that would change something
// and runs none of them. Read-only queries go to Query when it is set, so that decisions
// based on them (does the cluster exist? what does the host allow?) are real.
type DryRun struct {
	Out   io.Writer
	Query Runner
	mu    sync.Mutex
}

func (r *DryRun) Run(ctx context.Context, c Cmd) ([]byte, error) {
	if c.ReadOnly && r.Query != nil && c.Do == nil {
		return r.Query.Run(ctx, c)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(r.Out, c.Line())
	return nil, nil
}

// Recorder records commands and answers them from a function, for tests.
// File effects (Cmd.Do) are recorded and done, so that a test in a
// temporary directory sees the files a real run would leave.
type Recorder struct {
	// Respond, when set, answers a command; otherwise commands succeed with
	// no output. It is not asked about file effects.
	Respond func(c Cmd) ([]byte, error)

	mu    sync.Mutex
	calls []Cmd
}

func (r *Recorder) Run(_ context.Context, c Cmd) ([]byte, error) {
	if c.Stdin != nil {
		// Drain stdin so the recorded command sees what a real one would.
		data, _ := io.ReadAll(c.Stdin)
		c.Stdin = bytes.NewReader(data)
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	if c.Do != nil {
		return nil, do(c)
	}
	if r.Respond == nil {
		return nil, nil
	}
	return r.Respond(c)
}

// Calls returns the commands run so far.
func (r *Recorder) Calls() []Cmd {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Cmd(nil), r.calls...)
}

// Lines returns the commands run so far as shell-escaped lines.
func (r *Recorder) Lines() []string {
	var lines []string
	for _, c := range r.Calls() {
		lines = append(lines, c.Line())
	}
	return lines
}
