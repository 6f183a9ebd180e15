package lifecycle

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/kinc-dev/kinc/lifecycle/kubeadm"
	"github.com/kinc-dev/kinc/lifecycle/manifests"
)

// cniStage applies the default pod network, unless the spec disables it.
type cniStage struct{}

func (cniStage) Name() string { return "cni" }

func (cniStage) Run(ctx context.Context, c *Cluster) error {
	if c.Spec.Networking.DisableDefaultCNI {
		fmt.Fprintln(c.Progress, "   default CNI disabled by the spec: nodes stay NotReady until you install one")
		return nil
	}
	// kincnet talks to the API server directly: the kubernetes Service
	// needs kube-proxy, which need not be up yet.
	host, _, _ := net.SplitHostPort(c.controlPlaneEndpoint())
	manifest, err := manifests.KincNet(manifests.KincNetConfig{
		Image: c.Images.CNI, PodSubnet: c.Spec.Networking.PodSubnet,
		APIServerHost: host, APIServerPort: kubeadm.APIServerPort,
	})
	if err != nil {
		return err
	}
	return c.apply(ctx, manifest)
}

// storageStage installs the default StorageClass and its provisioner.
type storageStage struct{}

func (storageStage) Name() string { return "storage" }

func (storageStage) Run(ctx context.Context, c *Cluster) error {
	manifest, err := manifests.StorageProvisioner(manifests.StorageConfig{Image: c.Images.Provisioner})
	if err != nil {
		return err
	}
	return c.apply(ctx, manifest)
}

func (c *Cluster) apply(ctx context.Context, manifest []byte) error {
	_, err := c.kubectl(ctx, bytes.NewReader(manifest), "apply", "-f", "-")
	return err
}

// waitStage waits until every node is Ready, when asked to.
type waitStage struct{}

func (waitStage) Name() string { return "wait" }

func (waitStage) Run(ctx context.Context, c *Cluster) error {
	if c.Wait <= 0 {
		return nil
	}
	want := len(c.Nodes)
	return poll(ctx, c.Wait, 250*time.Millisecond, fmt.Sprintf("%d nodes to be Ready", want), func() (bool, error) {
		out, err := c.kubectl(ctx, nil, "get", "nodes", "-o",
			`jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		if err != nil {
			return false, err
		}
		ready := 0
		var notReady []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			name, status, _ := strings.Cut(l, "=")
			if status == "True" {
				ready++
			} else if name != "" {
				notReady = append(notReady, name)
			}
		}
		if ready == want {
			return true, nil
		}
		return false, fmt.Errorf("%d of %d Ready; not Ready: %s", ready, want, strings.Join(notReady, ", "))
	})
}
