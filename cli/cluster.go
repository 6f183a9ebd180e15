package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/alessio/shellescape"
	ucli "github.com/urfave/cli/v2"

	"github.com/kinc-dev/kinc/lifecycle"
	"github.com/kinc-dev/kinc/lifecycle/hostlimits"
	"github.com/kinc-dev/kinc/lifecycle/kubeconfig"
	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/nodeimage"
	"github.com/kinc-dev/kinc/providers"
)

func kubeconfigFlag(usage string) *ucli.StringFlag {
	return &ucli.StringFlag{Name: "kubeconfig", Usage: usage + " (default: $KUBECONFIG's first existing file, else its last, else ~/.kube/config)"}
}

// interruptible cancels the context on SIGINT/SIGTERM so that cleanup runs.
func interruptible(c *ucli.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
}

func createCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "create", Usage: "create a cluster or a node", Subcommands: []*ucli.Command{createNodeCommand(g), {
		Name:      "cluster",
		Usage:     "create a cluster from a TOML spec (default: one control-plane node)",
		ArgsUsage: "[NAME]",
		Description: "NAME (or --name, or $KINC_CLUSTER_NAME) overrides the spec's name. --until STAGE stops\n" +
			"after that stage and keeps the nodes; --from STAGE continues such a cluster (give the same --config):\n" +
			"the stages before STAGE are not run again, the later ones are.",
		Flags: []ucli.Flag{
			nameFlag(),
			&ucli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "cluster spec `FILE` (TOML)"},
			&ucli.StringFlag{Name: "image", Usage: "node image for nodes whose spec names none (default: the image kinc build node-image makes)"},
			&ucli.BoolFlag{Name: "retain", Usage: "keep the nodes when creation fails, for debugging"},
			&ucli.DurationFlag{Name: "wait", Usage: "wait this long for every node to be Ready (0: do not wait)"},
			kubeconfigFlag("kubeconfig file to merge the cluster's context into"),
			&ucli.StringFlag{Name: "until", Usage: "stop after this `STAGE`: " + strings.Join(lifecycle.StageNames(), ", ")},
			&ucli.StringFlag{Name: "from", Usage: "continue an existing cluster (stopped with --until) from this `STAGE` on"},
		},
		Action: func(c *ucli.Context) error {
			for _, f := range []string{"until", "from"} {
				if st := c.String(f); st != "" && !slices.Contains(lifecycle.StageNames(), st) {
					return usageError(c, "--%s %q: not a stage; the stages are %s", f, st, strings.Join(lifecycle.StageNames(), ", "))
				}
			}
			s, err := loadSpec(c.String("config"))
			if err != nil {
				return err
			}
			name, err := g.clusterArg(c, s.Name)
			if err != nil {
				return err
			}
			s.Name = name
			rt, kc, err := g.runtimeAndKubeconfig(c)
			if err != nil {
				return err
			}
			images := lifecycle.Images{
				Node:         nodeimage.DefaultImage(s.KubernetesVersion),
				LoadBalancer: nodeimage.AddonImage("lb"),
				CNI:          nodeimage.AddonImage("kincnet"),
				Provisioner:  nodeimage.AddonImage("provisioner"),
			}
			if img := c.String("image"); img != "" {
				images.Node = img
			}
			host, err := rt.Detect(c.Context)
			if err != nil {
				return err
			}
			for _, warn := range host.Warnings {
				fmt.Fprintf(g.stderr, "warning: %s\n", warn)
			}
			// Host limits are found now rather than as a wait that times out.
			preflight := func(ctx context.Context) error {
				in, running, err := inotifyPool(ctx, g.runner(c), rt, host)
				if err != nil {
					return err
				}
				var adding hostlimits.Nodes
				for _, n := range s.Nodes {
					if n.Role == spec.RoleControlPlane {
						adding.ControlPlanes++
					} else {
						adding.Workers++
					}
				}
				if err := in.Check(running, adding); err != nil {
					return err
				}
				if s.Networking.KubeProxyMode == "ipvs" {
					if err := hostlimits.IPVS("/proc", "/lib/modules"); err != nil {
						return s.ErrorAt("networking.kube_proxy_mode", "%q cannot run on this host: %v (or use \"iptables\" or \"nftables\")", "ipvs", err)
					}
				}
				return nil
			}
			ctx, stop := interruptible(c)
			defer stop()
			start := time.Now()
			out := g.info()
			_, err = lifecycle.Create(ctx, lifecycle.CreateOptions{
				Spec: s, Provider: rt, Host: host, Images: images,
				Progress: out, Live: g.live(c), Kubeconfig: kc, Wait: c.Duration("wait"),
				Until: c.String("until"), From: c.String("from"), Retain: c.Bool("retain"), DryRun: c.Bool("dry-run"),
				Preflight: preflight, TimeoutScale: c.Float64("timeout-scale"),
			})
			if err != nil {
				return err
			}
			if c.Bool("dry-run") {
				fmt.Fprintln(out, "Dry run: nothing was created or changed; <...> stands for what only exists once the nodes do.")
				return nil
			}
			if until := c.String("until"); until != "" && until != lifecycle.StageNames()[len(lifecycle.StageNames())-1] {
				fmt.Fprintf(out, "Stopped after stage %s in %.1fs as asked (--until); the nodes are kept.\nContinue with: kinc create cluster %s --from %s%s\nDelete them with: kinc delete cluster %s\n",
					until, time.Since(start).Seconds(), s.Name, lifecycle.NextStage(until), configArg(c), s.Name)
				return nil
			}
			fmt.Fprintf(out, "Cluster %q created in %.1fs.\n", s.Name, time.Since(start).Seconds())
			fmt.Fprintf(out, "Use it with:\n\n  kubectl cluster-info --context %s --kubeconfig %s\n\nDelete it with: kinc delete cluster %s\n",
				lifecycle.ContextName(s.Name), kc, s.Name)
			return nil
		},
	}}}
}

// configArg repeats --config for the command to continue with.
func configArg(c *ucli.Context) string {
	if f := c.String("config"); f != "" {
		return " --config " + shellescape.Quote(f)
	}
	return ""
}

// loadSpec reads the spec file, or the defaults when none is given.
func loadSpec(path string) (*spec.Cluster, error) {
	if path == "" {
		return spec.Default(), nil
	}
	return spec.Load(path)
}

func deleteCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "delete", Usage: "delete clusters or a node", Subcommands: []*ucli.Command{
		deleteNodeCommand(g),
		{
			Name:      "cluster",
			Usage:     "delete a cluster: its containers, volumes, network and kubeconfig context",
			ArgsUsage: "[NAME]",
			Flags:     []ucli.Flag{nameFlag(), kubeconfigFlag("kubeconfig file to remove the context from")},
			Action: func(c *ucli.Context) error {
				name, err := g.clusterArg(c, "")
				if err != nil {
					return err
				}
				rt, err := g.runtime(c)
				if err != nil {
					return err
				}
				return deleteClusters(c, g, rt, name)
			},
		},
		{
			Name:  "clusters",
			Usage: "delete several clusters (--all: every kinc cluster on the provider)",
			Flags: []ucli.Flag{
				&ucli.BoolFlag{Name: "all", Usage: "delete every kinc cluster"},
				kubeconfigFlag("kubeconfig file to remove the contexts from"),
			},
			ArgsUsage: "[NAME...]",
			Action: func(c *ucli.Context) error {
				names, err := positional(c, 0, -1)
				if err != nil {
					return err
				}
				switch {
				case c.Bool("all") && len(names) > 0:
					return usageError(c, "name the clusters or use --all, not both")
				case !c.Bool("all") && len(names) == 0:
					return usageError(c, "name the clusters or use --all")
				}
				for _, n := range names {
					if _, err := checkedName(c, n); err != nil {
						return err
					}
				}
				rt, err := g.runtime(c)
				if err != nil {
					return err
				}
				if c.Bool("all") {
					if names, err = lifecycle.Clusters(c.Context, rt); err != nil {
						return err
					}
				}
				return deleteClusters(c, g, rt, names...)
			},
		},
	}}
}

// runtimeAndKubeconfig returns the selected runtime and the kubeconfig file
// to write: --kubeconfig, else $KUBECONFIG's first existing file (else its
// last), else ~/.kube/config.
func (g *globals) runtimeAndKubeconfig(c *ucli.Context) (*providers.Runtime, string, error) {
	rt, err := g.runtime(c)
	if err != nil {
		return nil, "", err
	}
	kc, err := kubeconfig.Path(c.String("kubeconfig"))
	return rt, kc, err
}

// deleteClusters deletes each cluster and removes its context from every
// kubeconfig file (--kubeconfig, else every file of $KUBECONFIG, else
// ~/.kube/config). With --dry-run nothing is removed, the kubeconfig
// included: the commands are printed and the files that hold the context named.
func deleteClusters(c *ucli.Context, g *globals, rt *providers.Runtime, names ...string) error {
	files, err := kubeconfig.Paths(c.String("kubeconfig"))
	if err != nil {
		return err
	}
	dryRun := c.Bool("dry-run")
	var errs []error
	for _, name := range names {
		start := time.Now()
		kcs := files
		if dryRun {
			kcs = nil
		}
		found, err := lifecycle.Delete(c.Context, rt, name, kcs...)
		if dryRun {
			for _, f := range files {
				if has, _ := kubeconfig.Contains(f, lifecycle.ContextName(name)); has {
					fmt.Fprintf(g.stdout, "# would remove context %s from %s\n", lifecycle.ContextName(name), f)
				}
			}
		}
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("delete cluster %s: %w", name, err))
		case dryRun:
			fmt.Fprintf(g.info(), "Dry run: cluster %q not deleted; the commands above are what delete would run.\n", name)
		case found:
			fmt.Fprintf(g.info(), "Deleted cluster %q in %.1fs.\n", name, time.Since(start).Seconds())
		default:
			fmt.Fprintf(g.info(), "Cluster %q not found on %s: nothing to delete.\n", name, rt.Name())
		}
	}
	return errors.Join(errs...)
}

func getCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "get", Usage: "list clusters, nodes or a kubeconfig", Subcommands: []*ucli.Command{
		{
			Name:  "clusters",
			Usage: "list clusters (names; -o json|yaml: name, provider, nodes, apiServer, context, state)",
			Flags: []ucli.Flag{outputFlag()},
			Action: func(c *ucli.Context) error {
				if err := checkOutput(c); err != nil {
					return err
				}
				rt, err := g.runtime(c)
				if err != nil {
					return err
				}
				clusters, err := lifecycle.ClusterStatuses(c.Context, rt)
				if err != nil {
					return err
				}
				if clusters == nil {
					clusters = []lifecycle.ClusterStatus{}
				}
				return printOutput(c, g.stdout, clusters, func(w io.Writer) error {
					if len(clusters) == 0 && !g.quiet {
						fmt.Fprintf(g.stderr, "No kinc clusters on %s.\n", rt.Name())
					}
					for _, cl := range clusters {
						fmt.Fprintln(w, cl.Name)
					}
					return nil
				})
			},
		},
		{
			Name:      "nodes",
			Usage:     "list a cluster's containers (-o json|yaml: name, role, state, ip, image)",
			ArgsUsage: "[NAME]",
			Flags:     []ucli.Flag{nameFlag(), outputFlag()},
			Action: func(c *ucli.Context) error {
				if err := checkOutput(c); err != nil {
					return err
				}
				name, err := g.clusterArg(c, "")
				if err != nil {
					return err
				}
				rt, err := g.runtime(c)
				if err != nil {
					return err
				}
				nodes, err := lifecycle.NodeStatuses(c.Context, rt, name)
				if err != nil {
					return err
				}
				if len(nodes) == 0 {
					return fmt.Errorf("cluster %q not found on %s", name, rt.Name())
				}
				return printOutput(c, g.stdout, nodes, func(w io.Writer) error { return nodeTable(w, nodes) })
			},
		},
		{
			Name:      "kubeconfig",
			Usage:     "print a cluster's admin kubeconfig",
			ArgsUsage: "[NAME]",
			Flags:     []ucli.Flag{nameFlag(), &ucli.BoolFlag{Name: "internal", Usage: "address the API server on the cluster network (for containers on it) instead of the host"}},
			Action: func(c *ucli.Context) error {
				name, err := g.clusterArg(c, "")
				if err != nil {
					return err
				}
				data, err := clusterKubeconfig(c, g, name)
				if err != nil {
					return err
				}
				_, err = g.stdout.Write(data)
				return err
			},
		},
	}}
}

func nodeTable(w io.Writer, nodes []lifecycle.NodeStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tIP\tIMAGE")
	for _, n := range nodes {
		ip := n.IP
		if ip == "" {
			ip = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Name, n.Role, n.State, ip, n.Image)
	}
	return tw.Flush()
}

func clusterKubeconfig(c *ucli.Context, g *globals, name string) ([]byte, error) {
	rt, err := g.runtime(c)
	if err != nil {
		return nil, err
	}
	return lifecycle.Kubeconfig(c.Context, rt, name, c.Bool("internal"))
}

func exportCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "export", Usage: "export a kubeconfig or logs", Subcommands: []*ucli.Command{
		{
			Name:      "kubeconfig",
			Usage:     "merge a cluster's context into a kubeconfig file",
			ArgsUsage: "[NAME]",
			Flags:     []ucli.Flag{nameFlag(), kubeconfigFlag("kubeconfig file to write"), &ucli.BoolFlag{Name: "internal", Usage: "address the API server on the cluster network"}},
			Action: func(c *ucli.Context) error {
				name, err := g.clusterArg(c, "")
				if err != nil {
					return err
				}
				data, err := clusterKubeconfig(c, g, name)
				if err != nil {
					return err
				}
				kc, err := kubeconfig.Path(c.String("kubeconfig"))
				if err != nil {
					return err
				}
				if c.Bool("dry-run") {
					fmt.Fprintf(g.stdout, "# would set kubectl context %q in %s\n", lifecycle.ContextName(name), kc)
					return nil
				}
				if err := kubeconfig.Merge(kc, data); err != nil {
					return err
				}
				fmt.Fprintf(g.info(), "Set kubectl context %q in %s.\n", lifecycle.ContextName(name), kc)
				return nil
			},
		},
		{
			Name:      "logs",
			Usage:     "export a cluster's logs (containers, journals, kubelet, containerd, pods) to a directory",
			ArgsUsage: "[DIR]",
			Flags:     []ucli.Flag{nameFlag()},
			Action: func(c *ucli.Context) error {
				args, err := positional(c, 0, 1)
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
				dir := ""
				if len(args) == 1 {
					dir = args[0]
				}
				if dir == "" {
					dir = filepath.Join(os.TempDir(), fmt.Sprintf("kinc-%s-logs-%s", name, time.Now().Format("20060102-150405")))
				}
				if c.Bool("dry-run") {
					containers, err := lifecycle.ClusterContainers(c.Context, rt, name)
					if err != nil {
						return err
					}
					if len(containers) == 0 {
						return fmt.Errorf("cluster %q not found on %s", name, rt.Name())
					}
					fmt.Fprintf(g.stdout, "# would export the logs of cluster %q (%d containers) to %s\n", name, len(containers), dir)
					return nil
				}
				if err := lifecycle.ExportLogs(c.Context, rt, name, dir); err != nil {
					return err
				}
				fmt.Fprintf(g.info(), "Exported logs of cluster %q to %s\n", name, dir)
				return nil
			},
		},
	}}
}
