package lifecycle

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kinc-dev/kinc/providers"
)

// boot signals every paused node to start systemd and waits until
// containerd answers in each.
type boot struct{}

func (boot) Name() string { return "boot" }

func (boot) Run(ctx context.Context, c *Cluster) error {
	return parallel(c.Nodes, func(n *Node) error {
		out, err := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{}, "cat", nodeStateFile)
		if err != nil {
			return fmt.Errorf("node %s: read state: %w", n.Name, err)
		}
		if strings.TrimSpace(string(out)) == nodeStatePaused {
			if err := c.Provider.Signal(ctx, n.Name, bootSignal); err != nil {
				return fmt.Errorf("boot %s: %w", n.Name, err)
			}
		}
		return poll(ctx, 90*time.Second, 100*time.Millisecond, "containerd in "+n.Name, func() (bool, error) {
			_, err := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{}, "ctr", "--timeout", "1s", "version")
			return err == nil, err
		})
	})
}
