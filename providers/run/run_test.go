package run

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestExecErrors pins what callers rely on: a missing program is
// exec.ErrNotFound, a timeout is context.DeadlineExceeded, and a failure
// carries its line, exit code and stderr.
func TestExecErrors(t *testing.T) {
	tests := []struct {
		name     string
		cmd      Cmd
		is       error
		exitCode int
		output   string
	}{
		{name: "missing program", cmd: Cmd{Args: []string{"kinc-no-such-program-xyz"}}, is: exec.ErrNotFound, exitCode: -1},
		{name: "timeout", cmd: Cmd{Args: []string{"sleep", "10"}, Timeout: 100 * time.Millisecond}, is: context.DeadlineExceeded, exitCode: -1},
		{name: "exit code and stderr", cmd: Cmd{Args: []string{"sh", "-c", "echo one >&2; echo two >&2; exit 3"}}, exitCode: 3, output: "one\ntwo"},
		{name: "stdout when stderr is empty", cmd: Cmd{Args: []string{"sh", "-c", "echo progress; echo 'E: failed'; exit 1"}}, exitCode: 1, output: "progress\nE: failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := (&Exec{}).Run(context.Background(), tt.cmd)
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *run.Error", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if e.ExitCode != tt.exitCode || ExitCode(err) != tt.exitCode {
				t.Errorf("exit code %d, want %d", e.ExitCode, tt.exitCode)
			}
			if e.Output != tt.output {
				t.Errorf("output %q, want %q", e.Output, tt.output)
			}
			if e.Line != tt.cmd.Line() || !strings.Contains(err.Error(), tt.cmd.Line()) {
				t.Errorf("error %q does not name %q", err, tt.cmd.Line())
			}
		})
	}
}

func TestExecStdinStdout(t *testing.T) {
	var log strings.Builder
	out, err := (&Exec{Log: &log}).Run(context.Background(), Cmd{Args: []string{"sh", "-c", "tr a-z A-Z"}, Stdin: strings.NewReader("it's fine\n")})
	if err != nil || string(out) != "IT'S FINE\n" {
		t.Fatalf("out %q, %v", out, err)
	}
	if log.String() != "+ sh -c 'tr a-z A-Z'\n" {
		t.Errorf("log %q", log.String())
	}
}

func TestDryRunPrintsChangesAndAsksQueries(t *testing.T) {
	var out bytes.Buffer
	query := &Recorder{Respond: func(Cmd) ([]byte, error) { return []byte("answer"), nil }}
	r := &DryRun{Out: &out, Query: query}
	tests := []struct {
		cmd     Cmd
		wantOut string
		printed string
		queried int
	}{
		{Cmd{Args: []string{"docker", "ps"}, ReadOnly: true}, "answer", "", 1},
		{Cmd{Args: []string{"docker", "run", "a b"}}, "", "docker run 'a b'\n", 1},
	}
	for _, tt := range tests {
		out.Reset()
		got, err := r.Run(context.Background(), tt.cmd)
		if err != nil || string(got) != tt.wantOut || out.String() != tt.printed || len(query.Calls()) != tt.queried {
			t.Errorf("%s: got %q, printed %q, %d queries, err %v", tt.cmd.Line(), got, out.String(), len(query.Calls()), err)
		}
	}
}

// TestFileEffects: a file effect is done by Exec and the Recorder (which
// records it) and only printed by a dry run, whatever its ReadOnly says.
func TestFileEffects(t *testing.T) {
	tests := []struct {
		name    string
		runner  func(out *bytes.Buffer) Runner
		done    bool
		printed string
	}{
		{"exec", func(out *bytes.Buffer) Runner { return &Exec{Log: out} }, true, "+ write /x\n"},
		{"recorder", func(*bytes.Buffer) Runner { return &Recorder{} }, true, ""},
		{"dry run", func(out *bytes.Buffer) Runner { return &DryRun{Out: out, Query: &Recorder{}} }, false, "write /x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			done := false
			r := tt.runner(&out)
			_, err := r.Run(context.Background(), Cmd{Args: []string{"write", "/x"}, ReadOnly: true, Do: func() error { done = true; return nil }})
			if err != nil || done != tt.done || out.String() != tt.printed {
				t.Errorf("done %v (want %v), printed %q (want %q), err %v", done, tt.done, out.String(), tt.printed, err)
			}
			if rec, ok := r.(*Recorder); ok && len(rec.Lines()) != 1 {
				t.Errorf("recorded %v", rec.Lines())
			}
			_, err = r.Run(context.Background(), Cmd{Args: []string{"write", "/y"}, Do: func() error { return errors.New("boom") }})
			if tt.done && (err == nil || !strings.Contains(err.Error(), "write /y: boom")) {
				t.Errorf("failed effect: %v", err)
			}
		})
	}
}
