package providers

import (
	"context"
	"errors"
	"os/exec"
	"strings"

	"github.com/kinc-dev/kinc/providers/run"
)

// Select returns the runtime named by override (the --provider flag or
// KINC_PROVIDER), else docker if it answers, else podman if it answers.
// When neither answers the error is one sentence saying which runtime is
// missing or silent and how to fix that. Every probe has a timeout.
func Select(ctx context.Context, runner run.Runner, override string) (*Runtime, error) {
	if override != "" {
		return New(override, runner)
	}
	var reasons []string
	notInstalled := 0
	for _, name := range runtimeNames {
		rt, err := New(name, runner)
		if err != nil {
			return nil, err
		}
		err = rt.Probe(ctx)
		if err == nil {
			return rt, nil
		}
		if errors.Is(err, exec.ErrNotFound) {
			notInstalled++
			continue
		}
		reasons = append(reasons, rt.dialect.explain(err))
	}
	if notInstalled == len(runtimeNames) {
		return nil, errors.New("neither docker nor podman is installed: apt-get install docker.io or podman")
	}
	return nil, errors.New(strings.Join(reasons, "; and "))
}

// Probe checks that the runtime answers (docker: its daemon), within a
// timeout. Its error is an *UnavailableError.
func (rt *Runtime) Probe(ctx context.Context) error {
	c := rt.cmd(rt.dialect.probeArgs...)
	c.Timeout = rt.scaled(probeTimeout)
	c.ReadOnly = true
	if _, err := rt.runner.Run(ctx, c); err != nil {
		return &UnavailableError{Runtime: rt.Name(), Reason: rt.dialect.explain(err), Err: err}
	}
	return nil
}

// UnavailableError is a runtime that is not installed or does not answer.
// Its message is one sentence with the fix; Err is the failed command.
type UnavailableError struct {
	Runtime string
	Reason  string
	Err     error
}

func (e *UnavailableError) Error() string { return e.Reason }
func (e *UnavailableError) Unwrap() error { return e.Err }
