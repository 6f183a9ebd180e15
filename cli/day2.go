package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/kinc-dev/kinc/lifecycle"
	"github.com/kinc-dev/kinc/lifecycle/spec"
)

var nodesFlag = &ucli.StringFlag{Name: "nodes", Usage: "only these nodes, comma-separated (default: every node)"}

func splitList(s string) []string {
	var res []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			res = append(res, f)
		}
	}
	return res
}

// loadFunc is lifecycle.LoadImages or lifecycle.LoadArchives.
type loadFunc func(ctx context.Context, p lifecycle.Provider, cluster string, what []string, o lifecycle.LoadOptions) error

func loadCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "load", Usage: "load images into a cluster's nodes", Subcommands: []*ucli.Command{
		{
			Name:      "image",
			Usage:     "load images from the provider's own store (what docker build / podman build made) into every node",
			ArgsUsage: "IMAGE...",
			Flags:     []ucli.Flag{nameFlag(), nodesFlag},
			Action:    func(c *ucli.Context) error { return load(c, g, lifecycle.LoadImages) },
		},
		{
			Name:      "archive",
			Usage:     "load image archives (docker save, podman save or OCI layout tars) into every node",
			ArgsUsage: "FILE...",
			Flags:     []ucli.Flag{nameFlag(), nodesFlag},
			Action:    func(c *ucli.Context) error { return load(c, g, lifecycle.LoadArchives) },
		},
	}}
}

// load runs one of the load commands: its arguments are the images or files.
func load(c *ucli.Context, g *globals, fn loadFunc) error {
	what, err := positional(c, 1, -1)
	if err != nil {
		return err
	}
	name, err := g.clusterFlag(c, "")
	if err != nil {
		return err
	}
	rt, err := g.runtime(c)
	if err != nil {
		return err
	}
	ctx, stop := interruptible(c)
	defer stop()
	start := time.Now()
	if err := fn(ctx, rt, name, what, lifecycle.LoadOptions{Nodes: splitList(c.String("nodes")), Progress: g.info()}); err != nil {
		return err
	}
	fmt.Fprintf(g.info(), "Loaded %s into cluster %q in %.1fs.\n", strings.Join(what, ", "), name, time.Since(start).Seconds())
	return nil
}

func stopCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "stop", Usage: "stop a cluster", Subcommands: []*ucli.Command{{
		Name:      "cluster",
		Usage:     "stop every node cleanly (systemd's stop signal); kinc start cluster brings it back",
		ArgsUsage: "[NAME]",
		Flags:     []ucli.Flag{nameFlag()},
		Action: func(c *ucli.Context) error {
			name, err := g.clusterArg(c, "")
			if err != nil {
				return err
			}
			rt, err := g.runtime(c)
			if err != nil {
				return err
			}
			start := time.Now()
			stopped, err := lifecycle.Stop(c.Context, rt, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.info(), "Stopped cluster %q (%d containers) in %.1fs.\n", name, len(stopped), time.Since(start).Seconds())
			return nil
		},
	}}}
}

func startCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "start", Usage: "start a stopped cluster", Subcommands: []*ucli.Command{{
		Name:      "cluster",
		Usage:     "start every node, control planes first, and wait until the cluster runs again",
		ArgsUsage: "[NAME]",
		Flags:     []ucli.Flag{nameFlag(), &ucli.DurationFlag{Name: "wait", Value: 3 * time.Minute, Usage: "wait this long for every node to be Ready and the kube-system pods to run again (0: do not wait)"}},
		Action: func(c *ucli.Context) error {
			name, err := g.clusterArg(c, "")
			if err != nil {
				return err
			}
			rt, err := g.runtime(c)
			if err != nil {
				return err
			}
			ctx, stop := interruptible(c)
			defer stop()
			start := time.Now()
			fmt.Fprintf(g.info(), "Starting cluster %q on %s ...\n", name, rt.Name())
			if _, err := lifecycle.Start(ctx, rt, name, lifecycle.StartOptions{Progress: g.info(), Wait: c.Duration("wait")}); err != nil {
				return err
			}
			fmt.Fprintf(g.info(), "Started cluster %q in %.1fs.\n", name, time.Since(start).Seconds())
			return nil
		},
	}}}
}

func createNodeCommand(g *globals) *ucli.Command {
	return &ucli.Command{
		Name:  "node",
		Usage: "join a new node to a running cluster (named NAME-worker3, NAME-control-plane4...)",
		Flags: []ucli.Flag{
			nameFlag(),
			&ucli.StringFlag{Name: "role", Value: spec.RoleWorker, Usage: "worker or control-plane (a control plane needs a cluster made with several)"},
			&ucli.StringFlag{Name: "image", Usage: "node image (default: the first control plane's)"},
			&ucli.DurationFlag{Name: "wait", Value: 3 * time.Minute, Usage: "wait this long for the node to be Ready"},
			&ucli.BoolFlag{Name: "retain", Usage: "keep the node when joining fails, for debugging"},
		},
		Action: func(c *ucli.Context) error {
			name, err := g.clusterFlag(c, "")
			if err != nil {
				return err
			}
			rt, err := g.runtime(c)
			if err != nil {
				return err
			}
			host, err := rt.Detect(c.Context)
			if err != nil {
				return err
			}
			ctx, stop := interruptible(c)
			defer stop()
			if w := c.Duration("wait"); w > 0 {
				var cancel func()
				ctx, cancel = contextWithTimeout(ctx, w)
				defer cancel()
			}
			start := time.Now()
			n, err := lifecycle.AddNode(ctx, rt, name, lifecycle.AddNodeOptions{
				Role: c.String("role"), Image: c.String("image"), Host: host, Progress: g.info(), Retain: c.Bool("retain"),
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.info(), "Node %s joined cluster %q in %.1fs.\n", n.Name, name, time.Since(start).Seconds())
			return nil
		},
	}
}

func deleteNodeCommand(g *globals) *ucli.Command {
	return &ucli.Command{
		Name:      "node",
		Usage:     "drain a node, remove it from the cluster (and from etcd) and delete its container and volume",
		ArgsUsage: "NODE",
		Flags:     []ucli.Flag{nameFlag()},
		Action: func(c *ucli.Context) error {
			args, err := positional(c, 1, 1)
			if err != nil {
				return err
			}
			name, err := g.clusterFlag(c, "")
			if err != nil {
				return err
			}
			rt, err := g.runtime(c)
			if err != nil {
				return err
			}
			host, err := rt.Detect(c.Context)
			if err != nil {
				return err
			}
			if c.String("name") == "" && g.getenv(EnvClusterName) == "" {
				// The node's name tells its cluster: NAME-worker2.
				if cl, ok := clusterOfNode(args[0]); ok {
					name = cl
				}
			}
			ctx, stop := interruptible(c)
			defer stop()
			start := time.Now()
			if err := lifecycle.RemoveNode(ctx, rt, name, args[0], host, g.info()); err != nil {
				return err
			}
			fmt.Fprintf(g.info(), "Deleted node %s of cluster %q in %.1fs.\n", args[0], name, time.Since(start).Seconds())
			return nil
		},
	}
}

// clusterOfNode reads the cluster name out of a node name
// (NAME-control-plane2, NAME-worker).
func clusterOfNode(node string) (string, bool) {
	for _, role := range []string{"-" + spec.RoleControlPlane, "-" + spec.RoleWorker} {
		if i := strings.LastIndex(node, role); i > 0 {
			return node[:i], true
		}
	}
	return "", false
}

func contextWithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}
