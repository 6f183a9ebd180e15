package lifecycle

import (
	"context"
	"fmt"
	"net"

	"github.com/kinc-dev/kinc/lifecycle/kubeadm"
	"github.com/kinc-dev/kinc/lifecycle/kubeconfig"
	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/providers"
)

// kubeconfigStage merges the cluster's admin credentials into the user's
// kubeconfig as context kinc-NAME.
type kubeconfigStage struct{}

func (kubeconfigStage) Name() string { return "kubeconfig" }

func (kubeconfigStage) Run(ctx context.Context, c *Cluster) error {
	if c.dryRun {
		c.detail("# would merge context %s (server https://%s) into %s", ContextName(c.Name),
			net.JoinHostPort(hostAddress(c.Spec.Networking.APIServerAddress), fmt.Sprint(c.APIServerPort)), c.Kubeconfig)
		return nil
	}
	data, err := c.ExternalKubeconfig(ctx)
	if err != nil {
		return err
	}
	if err := kubeconfig.Merge(c.Kubeconfig, data); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", c.Kubeconfig, err)
	}
	return nil
}

// ExternalKubeconfig is the admin kubeconfig pointing at the published API
// server port on the host.
func (c *Cluster) ExternalKubeconfig(ctx context.Context) ([]byte, error) {
	admin, err := c.nodeCommand(ctx, c.initNode(), nil, "cat", adminConf)
	if err != nil {
		return nil, err
	}
	server := "https://" + net.JoinHostPort(hostAddress(c.Spec.Networking.APIServerAddress), fmt.Sprint(c.APIServerPort))
	return kubeconfig.Rename(admin, ContextName(c.Name), server)
}

// hostAddress is where a client on the host reaches a port published on addr.
func hostAddress(addr string) string {
	if addr == "" || addr == "0.0.0.0" {
		return "127.0.0.1"
	}
	if addr == "::" {
		return "::1"
	}
	return addr
}

// Kubeconfig returns the admin kubeconfig of an existing cluster, pointing at
// the host's published port, or with internal at the API server's name on the
// cluster network.
func Kubeconfig(ctx context.Context, p Provider, name string, internal bool) ([]byte, error) {
	containers, err := ClusterContainers(ctx, p, name)
	if err != nil {
		return nil, err
	}
	var controlPlane, endpoint string
	for _, ct := range containers {
		switch ct.Labels[providers.LabelRole] {
		case spec.RoleControlPlane:
			if controlPlane == "" || ct.Name < controlPlane {
				controlPlane = ct.Name
			}
		case RoleLoadBalancer:
			endpoint = ct.Name
		}
	}
	if controlPlane == "" {
		return nil, fmt.Errorf("cluster %q not found on %s (no control-plane container)", name, p.Name())
	}
	if endpoint == "" {
		endpoint = controlPlane
	}
	admin, err := p.Exec(ctx, controlPlane, providers.ExecOptions{ReadOnly: true}, "cat", adminConf)
	if err != nil {
		return nil, fmt.Errorf("read the admin kubeconfig of %s: %w", controlPlane, err)
	}
	server := "https://" + net.JoinHostPort(endpoint, fmt.Sprint(kubeadm.APIServerPort))
	if !internal {
		hostPort, err := p.HostPort(ctx, endpoint, kubeadm.APIServerPort)
		if err != nil {
			return nil, err
		}
		addr, port, err := net.SplitHostPort(hostPort)
		if err != nil {
			return nil, fmt.Errorf("published port of %s: %w", endpoint, err)
		}
		server = "https://" + net.JoinHostPort(hostAddress(addr), port)
	}
	return kubeconfig.Rename(admin, ContextName(name), server)
}
