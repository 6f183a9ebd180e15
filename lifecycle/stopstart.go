package lifecycle

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kinc-dev/kinc/lifecycle/spec"
)

// StopTimeout is how long a node's systemd gets to shut down after its stop
// signal before the runtime kills it.
const StopTimeout = 30 * time.Second

// Stop stops every container of the cluster with its stop signal (systemd
// shuts down cleanly); a stopped node stays stopped when the runtime or the
// host restarts. It returns the names it stopped.
func Stop(ctx context.Context, p Provider, name string) ([]string, error) {
	containers, err := ClusterContainers(ctx, p, name)
	if err != nil {
		return nil, err
	}
	if len(containers) == 0 {
		return nil, fmt.Errorf("%w: %q has no containers on %s", ErrClusterNotFound, name, p.Name())
	}
	var running []string
	for _, ct := range containers {
		if ct.State == "running" || ct.State == "restarting" {
			running = append(running, ct.Name)
		}
	}
	err = parallel(running, func(n string) error {
		if err := p.StopContainers(ctx, StopTimeout, n); err != nil {
			return fmt.Errorf("stop %s: %w", n, err)
		}
		return nil
	})
	return running, err
}

// StartOptions are the inputs of Start.
type StartOptions struct {
	Progress io.Writer
	// Wait is how long to wait until every node is Ready again and the
	// kube-system pods run again (0: do not wait).
	Wait time.Duration
}

// Start starts a stopped cluster: the load balancer and control planes
// first, then the workers. Each node boots by itself (its entrypoint knows
// it booted before) and re-applies its host fixups; the host's firewall
// rules for the network, which a reboot loses, are applied again here.
func Start(ctx context.Context, p Provider, name string, o StartOptions) (*Cluster, error) {
	c, err := Existing(ctx, p, name, o.Progress)
	if err != nil {
		return nil, err
	}
	since := time.Now()
	if err := p.EnsureNetworkRules(ctx, c.Network); err != nil {
		return nil, err
	}
	var first, then []string
	if c.LoadBalancer != nil && c.LoadBalancer.State != "running" {
		first = append(first, c.LoadBalancer.Name)
	}
	for _, n := range c.Nodes {
		if n.State == "running" {
			continue
		}
		if n.Role == spec.RoleControlPlane {
			first = append(first, n.Name)
		} else {
			then = append(then, n.Name)
		}
	}
	for _, group := range [][]string{first, then} {
		if err := parallel(group, func(n string) error {
			if err := p.StartContainers(ctx, n); err != nil {
				return fmt.Errorf("start %s: %w", n, err)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	c.detail("containers started in %.1fs", time.Since(since).Seconds())
	started := map[string]bool{}
	for _, n := range append(first, then...) {
		started[n] = true
	}
	for _, n := range c.Nodes {
		n.State = "running"
	}
	if o.Wait <= 0 {
		return c, nil
	}
	if err := c.waitRestarted(ctx, since, started, o.Wait); err != nil {
		return c, err
	}
	return c, nil
}

// waitRestarted waits until every node is Ready, those restarted with a
// heartbeat newer than since, and every kube-system pod of a restarted node
// runs containers started since then and is ready: the API keeps a stopped
// cluster's last status, so Ready alone would be true at once. (A node that
// kept running posts its status only every few minutes: it need only be
// Ready.)
func (c *Cluster) waitRestarted(ctx context.Context, since time.Time, restarted map[string]bool, timeout time.Duration) error {
	since = since.Truncate(time.Second)
	nodesReady := false
	return poll(ctx, timeout, 500*time.Millisecond, "the cluster to run again", func() (bool, error) {
		out, err := c.kubectl(ctx, nil, "get", "nodes", "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}{"\n"}{end}`)
		if err != nil {
			return false, err
		}
		if waiting := staleNodes(string(out), c.Nodes, restarted, since); len(waiting) > 0 {
			return false, fmt.Errorf("waiting for nodes %s", strings.Join(waiting, ", "))
		}
		if !nodesReady {
			nodesReady = true
			c.detail("all nodes Ready again at %.1fs", time.Since(since).Seconds())
		}
		out, err = c.kubectl(ctx, nil, "-n", "kube-system", "get", "pods", "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName}{range .status.containerStatuses[*]} {.ready},{.state.running.startedAt}{end}{"\n"}{end}`)
		if err != nil {
			return false, err
		}
		if waiting := stalePods(string(out), restarted, since); len(waiting) > 0 {
			return false, fmt.Errorf("waiting for kube-system pods %s", strings.Join(waiting, ", "))
		}
		return true, nil
	})
}

// staleNodes reads "NAME STATUS HEARTBEAT" lines and names the nodes that
// are not Ready (or not listed at all), or, when restarted, have no
// heartbeat at or after since.
func staleNodes(status string, nodes []*Node, restarted map[string]bool, since time.Time) []string {
	fresh := map[string]bool{}
	for _, l := range strings.Split(status, "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || f[1] != "True" {
			continue
		}
		if t, err := time.Parse(time.RFC3339, f[2]); !restarted[f[0]] || (err == nil && !t.Before(since)) {
			fresh[f[0]] = true
		}
	}
	var waiting []string
	for _, n := range nodes {
		if !fresh[n.Name] {
			waiting = append(waiting, n.Name)
		}
	}
	return waiting
}

// stalePods reads "NAME NODE READY,STARTED..." lines (one pair per
// container) and names the pods of restarted nodes not running again since
// since; a pod on no node yet is waited for too.
func stalePods(status string, restarted map[string]bool, since time.Time) []string {
	var waiting []string
	for _, l := range strings.Split(strings.TrimSpace(status), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		node, containers := "", f[1:]
		if len(f) > 1 && !strings.Contains(f[1], ",") {
			node, containers = f[1], f[2:]
		}
		if node != "" && !restarted[node] {
			continue
		}
		ok := len(containers) > 0
		for _, cs := range containers {
			ready, started, _ := strings.Cut(cs, ",")
			t, err := time.Parse(time.RFC3339, started)
			if ready != "true" || err != nil || t.Before(since) {
				ok = false
			}
		}
		if !ok {
			waiting = append(waiting, f[0])
		}
	}
	return waiting
}
