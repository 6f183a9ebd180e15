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
		c.detail("default CNI disabled by the spec: nodes stay NotReady until you install one")
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

// waitStage waits, when asked to, until the cluster can run workloads:
// every node Ready, and the kube-system DaemonSets (kube-proxy, kincnet...)
// and Deployments (coredns...) available everywhere they should run. A
// Ready node whose kube-proxy has not started yet gives its first pods no
// service traffic, so Ready nodes alone are not enough.
type waitStage struct{}

func (waitStage) Name() string { return "wait" }

func (waitStage) Run(ctx context.Context, c *Cluster) error {
	if c.Wait <= 0 {
		return nil
	}
	if c.dryRun {
		c.detail("# would wait up to %s for every node Ready and the kube-system workloads available", c.Wait)
		return nil
	}
	nodesReady := false
	return poll(ctx, c.Wait, 250*time.Millisecond, "the cluster to be ready", func() (bool, error) {
		out, err := c.kubectl(ctx, nil, "get", "nodes", "-o",
			`jsonpath={range .items[*]}node/{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		if err != nil {
			return false, err
		}
		nodes := string(out)
		if !nodesReady && len(notReady(nodes, len(c.Nodes))) == 0 {
			nodesReady = true
			c.detail("all nodes Ready at %.1fs", time.Since(c.started).Seconds())
		}
		out, err = c.kubectl(ctx, nil, "-n", "kube-system", "get", "daemonsets,deployments", "-o",
			`jsonpath={range .items[*]}{.kind}/{.metadata.name} {.status.numberAvailable}{.status.availableReplicas}/{.status.desiredNumberScheduled}{.status.replicas}{"\n"}{end}`)
		if err != nil {
			return false, err
		}
		if waiting := notReady(nodes+"\n"+string(out), len(c.Nodes)); len(waiting) > 0 {
			return false, fmt.Errorf("waiting for %s", strings.Join(waiting, ", "))
		}
		return true, nil
	})
}

// notReady reads lines "node/NAME True" and "KIND/NAME AVAILABLE/DESIRED"
// and names what is not ready yet, including missing nodes.
func notReady(status string, nodes int) []string {
	var waiting []string
	seen := 0
	for _, l := range strings.Split(strings.TrimSpace(status), "\n") {
		what, state, _ := strings.Cut(l, " ")
		switch {
		case what == "":
		case strings.HasPrefix(what, "node/"):
			seen++
			if state != "True" {
				waiting = append(waiting, what)
			}
		default:
			available, desired, _ := strings.Cut(state, "/")
			if available != desired || desired == "" {
				waiting = append(waiting, fmt.Sprintf("%s (%s available)", what, state))
			}
		}
	}
	if seen < nodes {
		waiting = append(waiting, fmt.Sprintf("%d of %d nodes registered", seen, nodes))
	}
	return waiting
}
