package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/kinc-dev/kinc/lifecycle"
	"github.com/kinc-dev/kinc/lifecycle/kubeconfig"
	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/nodeimage"
	"github.com/kinc-dev/kinc/providers"
)

var nameFlag = &ucli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "cluster name (default: the spec's name, or kinc)"}

func kubeconfigFlag(usage string) *ucli.StringFlag {
	return &ucli.StringFlag{Name: "kubeconfig", Usage: usage + " (default: $KUBECONFIG's first file, else ~/.kube/config)"}
}

func clusterName(c *ucli.Context) string {
	if n := c.String("name"); n != "" {
		return n
	}
	return spec.DefaultName
}

// interruptible cancels the context on SIGINT/SIGTERM so that cleanup runs.
func interruptible(c *ucli.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
}

func createCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "create", Usage: "create a cluster", Subcommands: []*ucli.Command{{
		Name:  "cluster",
		Usage: "create a cluster from a TOML spec (default: one control-plane node)",
		Flags: []ucli.Flag{
			nameFlag,
			&ucli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "cluster spec `FILE` (TOML)"},
			&ucli.StringFlag{Name: "image", Usage: "node image for nodes whose spec names none (default: the image kinc build node-image makes)"},
			&ucli.BoolFlag{Name: "retain", Usage: "keep the nodes when creation fails, for debugging"},
			&ucli.DurationFlag{Name: "wait", Usage: "wait this long for every node to be Ready (0: do not wait)"},
			kubeconfigFlag("kubeconfig file to merge the cluster's context into"),
			&ucli.StringFlag{Name: "until", Usage: "stop after this stage: " + strings.Join(lifecycle.StageNames(), ", ")},
		},
		Action: func(c *ucli.Context) error {
			s, err := loadSpec(c.String("config"))
			if err != nil {
				return ucli.Exit(err.Error(), 1)
			}
			if n := c.String("name"); n != "" {
				s.Name = n
				if err := s.Validate(); err != nil {
					return ucli.Exit(err.Error(), 1)
				}
			}
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
			ctx, stop := interruptible(c)
			defer stop()
			start := time.Now()
			_, err = lifecycle.Create(ctx, lifecycle.CreateOptions{
				Spec: s, Provider: rt, Host: host, Images: images,
				Progress: g.stdout, Kubeconfig: kc, Wait: c.Duration("wait"),
				Until: c.String("until"), Retain: c.Bool("retain"), DryRun: c.Bool("dry-run"),
				TimeoutScale: c.Float64("timeout-scale"),
			})
			if err != nil {
				return err
			}
			if c.Bool("dry-run") {
				fmt.Fprintln(g.stdout, "Dry run: those are the commands of the provision stage; nothing was created, and later stages need the nodes.")
				return nil
			}
			if until := c.String("until"); until != "" && until != lifecycle.StageNames()[len(lifecycle.StageNames())-1] {
				fmt.Fprintf(g.stdout, "Stopped after stage %s in %.1fs as asked (--until); the nodes are kept.\nDelete them with: kinc delete cluster --name %s\n",
					until, time.Since(start).Seconds(), s.Name)
				return nil
			}
			fmt.Fprintf(g.stdout, "Cluster %q created in %.1fs.\n", s.Name, time.Since(start).Seconds())
			fmt.Fprintf(g.stdout, "Use it with:\n\n  kubectl cluster-info --context %s --kubeconfig %s\n\nDelete it with: kinc delete cluster --name %s\n",
				lifecycle.ContextName(s.Name), kc, s.Name)
			return nil
		},
	}}}
}

// loadSpec reads the spec file, or the defaults when none is given.
func loadSpec(path string) (*spec.Cluster, error) {
	if path == "" {
		return spec.Default(), nil
	}
	return spec.Load(path)
}

func deleteCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "delete", Usage: "delete clusters", Subcommands: []*ucli.Command{
		{
			Name:  "cluster",
			Usage: "delete a cluster: its containers, volumes, network and kubeconfig context",
			Flags: []ucli.Flag{nameFlag, kubeconfigFlag("kubeconfig file to remove the context from")},
			Action: func(c *ucli.Context) error {
				rt, kc, err := g.runtimeAndKubeconfig(c)
				if err != nil {
					return err
				}
				return deleteClusters(c.Context, g, rt, kc, clusterName(c))
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
				rt, kc, err := g.runtimeAndKubeconfig(c)
				if err != nil {
					return err
				}
				names, err := positional(c, -1)
				if err != nil {
					return err
				}
				if c.Bool("all") {
					if names, err = lifecycle.Clusters(c.Context, rt); err != nil {
						return err
					}
				} else if len(names) == 0 {
					return ucli.Exit("kinc delete clusters: name the clusters or use --all", 2)
				}
				return deleteClusters(c.Context, g, rt, kc, names...)
			},
		},
	}}
}

// runtimeAndKubeconfig returns the selected runtime and the kubeconfig file
// --kubeconfig, $KUBECONFIG or ~/.kube/config names.
func (g *globals) runtimeAndKubeconfig(c *ucli.Context) (*providers.Runtime, string, error) {
	rt, err := g.runtime(c)
	if err != nil {
		return nil, "", err
	}
	kc, err := kubeconfig.Path(c.String("kubeconfig"))
	return rt, kc, err
}

func deleteClusters(ctx context.Context, g *globals, rt *providers.Runtime, kc string, names ...string) error {
	var errs []error
	for _, name := range names {
		start := time.Now()
		found, err := lifecycle.Delete(ctx, rt, name, kc)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("delete cluster %s: %w", name, err))
		case found:
			fmt.Fprintf(g.stdout, "Deleted cluster %q in %.1fs.\n", name, time.Since(start).Seconds())
		default:
			fmt.Fprintf(g.stdout, "Cluster %q not found on %s: nothing to delete.\n", name, rt.Name())
		}
	}
	return errors.Join(errs...)
}

func getCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "get", Usage: "list clusters, nodes or a kubeconfig", Subcommands: []*ucli.Command{
		{
			Name:  "clusters",
			Usage: "list clusters",
			Action: func(c *ucli.Context) error {
				rt, err := g.runtime(c)
				if err != nil {
					return err
				}
				names, err := lifecycle.Clusters(c.Context, rt)
				if err != nil {
					return err
				}
				if len(names) == 0 {
					fmt.Fprintf(g.stderr, "No kinc clusters on %s.\n", rt.Name())
				}
				for _, n := range names {
					fmt.Fprintln(g.stdout, n)
				}
				return nil
			},
		},
		{
			Name:  "nodes",
			Usage: "list a cluster's node containers",
			Flags: []ucli.Flag{nameFlag},
			Action: func(c *ucli.Context) error {
				rt, err := g.runtime(c)
				if err != nil {
					return err
				}
				containers, err := lifecycle.ClusterContainers(c.Context, rt, clusterName(c))
				if err != nil {
					return err
				}
				if len(containers) == 0 {
					return ucli.Exit(fmt.Sprintf("cluster %q not found on %s", clusterName(c), rt.Name()), 1)
				}
				w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tROLE\tSTATE\tIMAGE")
				for _, ct := range containers {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", ct.Name, ct.Labels[providers.LabelRole], ct.State, ct.Image)
				}
				return w.Flush()
			},
		},
		{
			Name:  "kubeconfig",
			Usage: "print a cluster's admin kubeconfig",
			Flags: []ucli.Flag{nameFlag, &ucli.BoolFlag{Name: "internal", Usage: "address the API server on the cluster network (for containers on it) instead of the host"}},
			Action: func(c *ucli.Context) error {
				data, err := clusterKubeconfig(c, g)
				if err != nil {
					return err
				}
				_, err = g.stdout.Write(data)
				return err
			},
		},
	}}
}

func clusterKubeconfig(c *ucli.Context, g *globals) ([]byte, error) {
	rt, err := g.runtime(c)
	if err != nil {
		return nil, err
	}
	return lifecycle.Kubeconfig(c.Context, rt, clusterName(c), c.Bool("internal"))
}

func exportCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "export", Usage: "export a kubeconfig or logs", Subcommands: []*ucli.Command{
		{
			Name:  "kubeconfig",
			Usage: "merge a cluster's context into a kubeconfig file",
			Flags: []ucli.Flag{nameFlag, kubeconfigFlag("kubeconfig file to write"), &ucli.BoolFlag{Name: "internal", Usage: "address the API server on the cluster network"}},
			Action: func(c *ucli.Context) error {
				data, err := clusterKubeconfig(c, g)
				if err != nil {
					return err
				}
				kc, err := kubeconfig.Path(c.String("kubeconfig"))
				if err != nil {
					return err
				}
				if err := kubeconfig.Merge(kc, data); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "Set kubectl context %q in %s.\n", lifecycle.ContextName(clusterName(c)), kc)
				return nil
			},
		},
		{
			Name:      "logs",
			Usage:     "export a cluster's logs (containers, journals, kubelet, containerd, pods) to a directory",
			ArgsUsage: "[DIR]",
			Flags:     []ucli.Flag{nameFlag},
			Action: func(c *ucli.Context) error {
				args, err := positional(c, 1)
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
					dir = filepath.Join(os.TempDir(), fmt.Sprintf("kinc-%s-logs-%s", clusterName(c), time.Now().Format("20060102-150405")))
				}
				if err := lifecycle.ExportLogs(c.Context, rt, clusterName(c), dir); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "Exported logs of cluster %q to %s\n", clusterName(c), dir)
				return nil
			},
		},
	}}
}
