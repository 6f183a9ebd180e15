package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	ucli "github.com/urfave/cli/v2"

	"github.com/kinc-dev/kinc/nodeimage"
	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/providers"
)

func buildCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "build", Usage: "build images", Subcommands: []*ucli.Command{
		{
			Name:  "node-image",
			Usage: "build the node image clusters boot from (Debian rootfs + Kubernetes built from source, all images preloaded)",
			Description: "Builds kinc/node:<version>-<digest12> without any registry: debootstrap (cached in $KINC_CACHE_DIR,\n" +
				"default ~/.cache/kinc), Kubernetes, etcd and coredns through the Go module proxy, pause with gcc.\n" +
				"When the tag already exists in every selected runtime the build is a cache hit.",
			Flags: []ucli.Flag{
				&ucli.StringFlag{Name: "kubernetes-version", Value: contract.DefaultKubernetesVersion, Usage: "Kubernetes version to build (vX.Y.Z)"},
				&ucli.StringFlag{Name: "image", Usage: "image name (default kinc/node:<version>-<digest12>)"},
				&ucli.StringFlag{Name: "kube-bin-dir", Usage: "take kubeadm, kubelet, kubectl and the control-plane binaries from this directory instead of building them"},
				&ucli.StringFlag{Name: "kube-root", Usage: "experimental, not yet proven end to end: build Kubernetes from this local checkout (your own change) instead of the k8s.io/kubernetes module; the version is the checkout's newest git tag unless --kubernetes-version says"},
				&ucli.BoolFlag{Name: "force", Usage: "rebuild even when the image exists"},
				&ucli.StringFlag{Name: "provider", Usage: "docker, podman or all (default: every runtime that answers)", EnvVars: []string{"KINC_PROVIDER"}},
			},
			Action: func(c *ucli.Context) error {
				if err := checkProvider(c, true); err != nil {
					return err
				}
				ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
				defer stop()
				rts, err := buildRuntimes(ctx, g, c)
				if err != nil {
					return err
				}
				version := c.String("kubernetes-version")
				if c.String("kube-root") != "" && !c.IsSet("kubernetes-version") {
					version = "" // the checkout's own
				}
				_, err = nodeimage.Build(ctx, nodeimage.Options{
					KubernetesVersion: version,
					KubeRoot:          c.String("kube-root"),
					Image:             c.String("image"),
					KubeBinDir:        c.String("kube-bin-dir"),
					Force:             c.Bool("force"),
					DryRun:            c.Bool("dry-run"),
					Runtimes:          rts,
					Runner:            g.runner(c),
					Out:               g.info(),
				})
				if err != nil {
					return fmt.Errorf("build node-image: %w", err)
				}
				return nil
			},
		},
	}}
}

// buildRuntimes: --provider docker|podman|all; by default every runtime that answers.
func buildRuntimes(ctx context.Context, g *globals, c *ucli.Context) ([]*providers.Runtime, error) {
	// This command's --provider, else the global one given before it.
	var p string
	for _, l := range c.Lineage() {
		if p = l.String("provider"); p != "" {
			break
		}
	}
	names := []string{p}
	if p == "" || p == "all" {
		names = []string{"docker", "podman"}
	}
	var rts []*providers.Runtime
	var problems []string
	for _, n := range names {
		rt, err := providers.New(n, g.runner(c))
		if err != nil {
			return nil, err
		}
		if _, err := rt.ListImages(ctx); err != nil {
			if p != "" {
				return nil, fmt.Errorf("%s does not answer: %w", n, err)
			}
			problems = append(problems, fmt.Sprintf("%s: %v", n, err))
			continue
		}
		rts = append(rts, rt)
	}
	if len(rts) == 0 {
		return nil, fmt.Errorf("no container runtime answers: %v", problems)
	}
	return rts, nil
}
