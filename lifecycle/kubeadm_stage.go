package lifecycle

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/kinc-dev/kinc/lifecycle/kubeadm"
	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/providers"
)

const adminConf = "/etc/kubernetes/admin.conf"

// kubeadmStage runs kubeadm init on the first control-plane node, then the
// joins: extra control planes one at a time (etcd grows one member at a
// time), workers all at once alongside them.
type kubeadmStage struct{}

func (kubeadmStage) Name() string { return "kubeadm" }

func (kubeadmStage) Run(ctx context.Context, c *Cluster) error {
	init := c.initNode()
	if !c.fileExists(ctx, init, adminConf) {
		args := []string{"kubeadm", "init", "--config", kubeadm.ConfigPath, "--skip-phases=preflight", "--skip-token-print"}
		if c.CertificateKey != "" {
			args = append(args, "--upload-certs")
		}
		start := time.Now()
		if _, err := c.nodeCommand(ctx, init, nil, args...); err != nil {
			return fmt.Errorf("kubeadm init: %w", err)
		}
		c.detail("init %s %.1fs", init.Name, time.Since(start).Seconds())
	}
	var joining []*Node
	for _, n := range c.Nodes {
		if !n.Init {
			joining = append(joining, n)
		}
	}
	if err := c.writeDiscovery(ctx, joining); err != nil {
		return err
	}
	var controlPlanes, workers []*Node
	for _, n := range c.Nodes {
		switch {
		case n.Init:
		case n.Role == spec.RoleControlPlane:
			controlPlanes = append(controlPlanes, n)
		default:
			workers = append(workers, n)
		}
	}
	cpErr := make(chan error, 1)
	go func() {
		var errs *multierror.Error
		for _, n := range controlPlanes {
			if err := c.join(ctx, n); err != nil {
				errs = multierror.Append(errs, err)
				break
			}
		}
		cpErr <- errs.ErrorOrNil()
	}()
	workerErr := parallel(workers, func(n *Node) error { return c.join(ctx, n) })
	return multierror.Append(<-cpErr, workerErr).ErrorOrNil()
}

func (c *Cluster) join(ctx context.Context, n *Node) error {
	if c.fileExists(ctx, n, "/etc/kubernetes/kubelet.conf") {
		return nil
	}
	start := time.Now()
	if _, err := c.nodeCommand(ctx, n, nil, "kubeadm", "join", "--config", kubeadm.ConfigPath, "--skip-phases=preflight"); err != nil {
		return fmt.Errorf("kubeadm join: %w", err)
	}
	c.detail("join %s %.1fs", n.Name, time.Since(start).Seconds())
	return nil
}

func (c *Cluster) fileExists(ctx context.Context, n *Node, path string) bool {
	// Read-only: a dry run asks too (a node that does not exist has no file).
	_, err := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{ReadOnly: true}, "test", "-e", path)
	return err == nil
}

// kubectl runs kubectl with the admin kubeconfig on the init node; stdin
// may be nil.
func (c *Cluster) kubectl(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	return c.nodeCommand(ctx, c.initNode(), stdin, append([]string{"kubectl", "--kubeconfig", adminConf}, args...)...)
}

// writeDiscovery gives joining nodes the cluster CA and endpoint.
func (c *Cluster) writeDiscovery(ctx context.Context, joining []*Node) error {
	if len(joining) == 0 {
		return nil
	}
	ca, err := c.nodeCommand(ctx, c.initNode(), nil, "cat", "/etc/kubernetes/pki/ca.crt")
	if err != nil {
		return fmt.Errorf("read the cluster CA: %w", err)
	}
	discovery := []byte(kubeadm.Discovery(c.controlPlaneEndpoint(), ca))
	return parallel(joining, func(n *Node) error {
		if err := c.Provider.WriteFile(ctx, n.Name, kubeadm.DiscoveryPath, discovery, 0o600); err != nil {
			return fmt.Errorf("node %s: write %s: %w", n.Name, kubeadm.DiscoveryPath, err)
		}
		return nil
	})
}
