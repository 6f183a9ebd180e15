package lifecycle

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/kinc-dev/kinc/lifecycle/kubeadm"
	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/providers"
)

// provision creates the cluster network and the node containers, and waits
// until every node is paused and ready to be configured.
type provision struct{}

func (provision) Name() string { return "provision" }

func (provision) Run(ctx context.Context, c *Cluster) error {
	existing, err := c.Provider.ListNetworks(ctx, clusterLabels(c.Name))
	if err != nil {
		return err
	}
	if !slices.Contains(existing, c.Network) {
		if err := c.Provider.CreateNetwork(ctx, c.Network, clusterLabels(c.Name)); err != nil {
			return fmt.Errorf("create network %s: %w", c.Network, err)
		}
	}
	if c.APIServerPort == 0 {
		if c.APIServerPort, err = freePort(c.Spec.Networking.APIServerAddress); err != nil {
			return err
		}
	}
	running, err := c.Provider.ListContainers(ctx, clusterLabels(c.Name))
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, ct := range running {
		have[ct.Name] = true
	}
	if err := c.assignIPs(ctx, have); err != nil {
		return err
	}
	if err := parallel(c.Nodes, func(n *Node) error {
		if have[n.Name] {
			return nil
		}
		return c.runNode(ctx, n)
	}); err != nil {
		return err
	}
	if c.dryRun {
		for _, n := range c.Nodes {
			if n.IP == "" {
				n.IP = "<IP of " + n.Name + ">"
			}
		}
		if c.LoadBalancerNeeded() {
			return c.runLoadBalancer(ctx)
		}
		return nil
	}
	if err := c.readIPs(ctx, c.Nodes); err != nil {
		return err
	}
	if c.LoadBalancerNeeded() && !have[LoadBalancerName(c.Name)] {
		if err := c.runLoadBalancer(ctx); err != nil {
			return err
		}
	}
	return parallel(c.Nodes, func(n *Node) error { return c.waitPaused(ctx, n) })
}

// assignIPs gives every node (and the load balancer) that has no container
// yet a fixed address on the cluster network; those that exist keep theirs.
func (c *Cluster) assignIPs(ctx context.Context, have map[string]bool) error {
	subnet, err := c.Provider.NetworkSubnet(ctx, c.Network)
	if err != nil {
		if c.dryRun { // the network was not made
			return nil
		}
		return fmt.Errorf("network %s: %w", c.Network, err)
	}
	if subnet.Subnet == "" {
		return fmt.Errorf("network %s has no IPv4 subnet", c.Network)
	}
	// Only the cluster's own containers are on its network.
	members, err := c.Provider.ListContainers(ctx, clusterLabels(c.Name))
	if err != nil {
		return err
	}
	var used []string
	for _, ct := range members {
		if ip, err := c.Provider.ContainerIP(ctx, ct.Name, c.Network); err == nil {
			used = append(used, ip)
		}
	}
	var need []*string
	for _, n := range c.Nodes {
		if !have[n.Name] && n.IP == "" {
			need = append(need, &n.IP)
		}
	}
	if c.LoadBalancerNeeded() && !have[LoadBalancerName(c.Name)] && c.LoadBalancerIP == "" {
		need = append(need, &c.LoadBalancerIP)
	}
	ips, err := nextFreeIPs(subnet.Subnet, subnet.Gateway, used, len(need))
	if err != nil {
		return err
	}
	for i, p := range need {
		*p = ips[i]
	}
	return nil
}

func (c *Cluster) runNode(ctx context.Context, n *Node) error {
	volume := n.Name + "-containerd"
	if err := c.Provider.CreateVolume(ctx, volume, roleLabels(c.Name, n.Role)); err != nil {
		return fmt.Errorf("node %s: create volume: %w", n.Name, err)
	}
	cs := providers.ContainerSpec{
		Name:     n.Name,
		Hostname: n.Name,
		Image:    n.Image,
		Network:  c.Network,
		IP:       n.IP,
		Labels:   roleLabels(c.Name, n.Role),
		Node:     true,
		Mounts:   []providers.Mount{{Volume: volume, ContainerPath: contract.ContainerdDir}},
	}
	for _, m := range n.Spec.ExtraMounts {
		cs.Mounts = append(cs.Mounts, providers.Mount{HostPath: m.HostPath, ContainerPath: m.ContainerPath, ReadOnly: m.ReadOnly, Propagation: propagation(m.Propagation)})
	}
	if n.Init && !c.LoadBalancerNeeded() {
		cs.Ports = append(cs.Ports, c.apiServerPort())
	}
	for _, p := range n.Spec.ExtraPortMappings {
		cs.Ports = append(cs.Ports, providers.PortMapping{HostIP: p.ListenAddress, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Protocol})
	}
	if err := c.Provider.RunContainer(ctx, c.Host, cs); err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	return nil
}

// LoadBalancerNeeded is true with more than one control-plane node, or
// when the cluster was made with one.
func (c *Cluster) LoadBalancerNeeded() bool {
	return c.LoadBalancer != nil || len(c.nodesWithRole(spec.RoleControlPlane)) > 1
}

func (c *Cluster) apiServerPort() providers.PortMapping {
	return providers.PortMapping{HostIP: c.Spec.Networking.APIServerAddress, HostPort: c.APIServerPort, ContainerPort: kubeadm.APIServerPort}
}

func (c *Cluster) runLoadBalancer(ctx context.Context) error {
	name := LoadBalancerName(c.Name)
	args := []string{"--listen", fmt.Sprintf(":%d", kubeadm.APIServerPort)}
	for _, n := range c.nodesWithRole(spec.RoleControlPlane) {
		args = append(args, "--backend", net.JoinHostPort(n.IP, fmt.Sprint(kubeadm.APIServerPort)))
	}
	err := c.Provider.RunContainer(ctx, c.Host, providers.ContainerSpec{
		Name:     name,
		Hostname: name,
		Image:    c.Images.LoadBalancer,
		Network:  c.Network,
		IP:       c.LoadBalancerIP,
		Restart:  true,
		Labels:   roleLabels(c.Name, RoleLoadBalancer),
		Ports:    []providers.PortMapping{c.apiServerPort()},
		Args:     args,
	})
	if err != nil {
		return fmt.Errorf("load balancer: %w", err)
	}
	return nil
}

// waitPaused waits until the node's entrypoint holds it paused (or it was
// already booted by an earlier run).
func (c *Cluster) waitPaused(ctx context.Context, n *Node) error {
	return poll(ctx, c.scaled(60*time.Second), 100*time.Millisecond, "node "+n.Name+" to reach its paused state", func() (bool, error) {
		out, err := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{}, "cat", contract.StateFile)
		if err != nil {
			if c.nodeFailed(ctx, n) {
				return false, &permanentError{fmt.Errorf("node %s stopped before pausing: %s", n.Name, c.logTail(ctx, n))}
			}
			return false, err
		}
		return strings.TrimSpace(string(out)) != "", nil
	})
}

func propagation(p string) string {
	switch p {
	case "host_to_container":
		return "rslave"
	case "bidirectional":
		return "rshared"
	}
	return ""
}

// freePort asks the kernel for a free TCP port on addr.
func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", addr, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
