package lifecycle

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// boot signals every paused node to start systemd and waits until
// containerd answers in each.
type boot struct{}

func (boot) Name() string { return "boot" }

func (boot) Run(ctx context.Context, c *Cluster) error {
	return c.bootNodes(ctx, c.Nodes)
}

func (c *Cluster) bootNodes(ctx context.Context, nodes []*Node) error {
	return parallel(nodes, func(n *Node) error {
		out, err := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{}, "cat", contract.StateFile)
		if err != nil {
			return fmt.Errorf("node %s: read state: %w", n.Name, err)
		}
		if strings.TrimSpace(string(out)) == contract.StatePaused || c.dryRun {
			if err := c.Provider.Signal(ctx, n.Name, contract.BootSignal); err != nil {
				return fmt.Errorf("boot %s: %w", n.Name, err)
			}
		}
		lastCheck := time.Now()
		return poll(ctx, c.scaled(90*time.Second), 100*time.Millisecond, "containerd in "+n.Name, func() (bool, error) {
			_, err := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{}, "ctr", "--timeout", "1s", "version")
			if err == nil {
				return true, nil
			}
			// Asking whether the node gave up costs two more execs: once a
			// second is enough, not on every 100ms poll.
			if time.Since(lastCheck) < time.Second {
				return false, err
			}
			lastCheck = time.Now()
			if c.nodeFailed(ctx, n) {
				return false, &permanentError{fmt.Errorf("node %s failed to boot: %s", n.Name, c.logTail(ctx, n))}
			}
			return false, err
		})
	})
}

// nodeFailed reports whether the node's entrypoint gave up (a host fixup
// failed) or its container exited.
func (c *Cluster) nodeFailed(ctx context.Context, n *Node) bool {
	state, err := c.Provider.Inspect(ctx, n.Name, "{{.State.Status}}")
	if err == nil && state != "running" {
		return true
	}
	out, err := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{}, "cat", contract.StateFile)
	return err == nil && strings.TrimSpace(string(out)) == contract.StateFailed
}

// logTail is the end of a node container's log, for error messages.
func (c *Cluster) logTail(ctx context.Context, n *Node) string {
	logs, err := c.Provider.Logs(ctx, n.Name)
	if err != nil {
		return fmt.Sprintf("(no logs: %v)", err)
	}
	return "container log (tail):\n    " + strings.ReplaceAll(run.Tail(string(logs), 15), "\n", "\n    ")
}
