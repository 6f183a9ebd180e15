package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/kinc-dev/kinc/lifecycle/kubeadm"
	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/providers"
)

// ErrClusterNotFound is returned by the commands that work on an existing
// cluster when it has no containers.
var ErrClusterNotFound = errors.New("cluster not found")

// Existing reads a cluster that exists on p back into a Cluster: its nodes
// in creation order (control planes first), their container states and, for
// running nodes, their addresses. The spec it was made from is read on
// demand (loadSpec).
func Existing(ctx context.Context, p Provider, name string, progress io.Writer) (*Cluster, error) {
	containers, err := ClusterContainers(ctx, p, name)
	if err != nil {
		return nil, err
	}
	if len(containers) == 0 {
		return nil, fmt.Errorf("%w: %q has no containers on %s (kinc get clusters lists them)", ErrClusterNotFound, name, p.Name())
	}
	if progress == nil {
		progress = io.Discard
	}
	c := &Cluster{Name: name, Provider: p, Network: NetworkName(name), Progress: progress}
	for _, ct := range containers {
		switch role := ct.Labels[providers.LabelRole]; role {
		case spec.RoleControlPlane, spec.RoleWorker:
			c.Nodes = append(c.Nodes, &Node{Name: ct.Name, Role: role, Image: ct.Image, State: ct.State})
		case RoleLoadBalancer:
			c.LoadBalancer = &providers.Container{Name: ct.Name, Image: ct.Image, State: ct.State, Labels: ct.Labels}
		}
	}
	sort.SliceStable(c.Nodes, func(i, j int) bool { return nodeLess(c.Nodes[i], c.Nodes[j]) })
	for _, n := range c.Nodes {
		if n.Role == spec.RoleControlPlane {
			n.Init = true
			break
		}
	}
	if c.initNode() == nil {
		return nil, fmt.Errorf("cluster %q on %s has no control-plane container", name, p.Name())
	}
	if err := c.readIPs(ctx, c.running()); err != nil {
		return nil, err
	}
	return c, nil
}

// nodeLess orders nodes as they were created: control planes first, then
// by number (NAME-worker, NAME-worker2, ..., NAME-worker10).
func nodeLess(a, b *Node) bool {
	if a.Role != b.Role {
		return a.Role == spec.RoleControlPlane
	}
	return nodeNumber(a.Name, a.Role) < nodeNumber(b.Name, b.Role)
}

// nodeNumber is 1 for NAME-ROLE, N for NAME-ROLEN.
func nodeNumber(name, role string) int {
	i := strings.LastIndex(name, "-"+role)
	if i < 0 {
		return 0
	}
	suffix := name[i+len(role)+1:]
	if suffix == "" {
		return 1
	}
	n, err := strconv.Atoi(suffix)
	if err != nil {
		return 0
	}
	return n
}

// readIPs reads the nodes' addresses on the cluster network.
func (c *Cluster) readIPs(ctx context.Context, nodes []*Node) error {
	return parallel(nodes, func(n *Node) error {
		ip, err := c.Provider.ContainerIP(ctx, n.Name, c.Network)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		n.IP = ip
		return nil
	})
}

// running returns the nodes whose containers run.
func (c *Cluster) running() []*Node {
	var res []*Node
	for _, n := range c.Nodes {
		if n.State == "running" {
			res = append(res, n)
		}
	}
	return res
}

// loadSpec reads the spec the cluster was made from, which configure kept
// in every node, and the published API server port.
func (c *Cluster) loadSpec(ctx context.Context) error {
	init := c.initNode()
	if init.State != "running" {
		return fmt.Errorf("node %s is %s: start the cluster first with: kinc start cluster --name %s", init.Name, init.State, c.Name)
	}
	data, err := c.nodeCommand(ctx, init, nil, "cat", kincSpecPath)
	if err != nil {
		return fmt.Errorf("read the cluster's spec: %w", err)
	}
	s, err := spec.Parse(init.Name+":"+kincSpecPath, data)
	if err != nil {
		return err
	}
	c.Spec = s
	endpoint := init.Name
	if c.LoadBalancer != nil {
		endpoint = c.LoadBalancer.Name
		if c.LoadBalancerIP, err = c.Provider.ContainerIP(ctx, endpoint, c.Network); err != nil {
			return fmt.Errorf("load balancer: %w", err)
		}
	}
	hostPort, err := c.Provider.HostPort(ctx, endpoint, kubeadm.APIServerPort)
	if err != nil {
		return err
	}
	if c.APIServerPort, err = strconv.Atoi(hostPort[strings.LastIndex(hostPort, ":")+1:]); err != nil {
		return fmt.Errorf("published port of %s: %q: %w", endpoint, hostPort, err)
	}
	return nil
}

// bootState is a running node's entrypoint state: paused until it is
// booted, then booting (systemd owns the node).
func (c *Cluster) bootState(ctx context.Context, n *Node) string {
	out, err := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{}, "cat", contract.StateFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
