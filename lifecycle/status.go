package lifecycle

import (
	"context"
	"net"
	"sort"
	"strings"

	"github.com/kinc-dev/kinc/lifecycle/kubeadm"
	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/providers"
)

// Cluster and node states, as `kinc get` reports them.
const (
	StateRunning  = "running"  // every container runs (a node: booted)
	StateStopped  = "stopped"  // no container runs
	StateDegraded = "degraded" // some containers run, others do not
	StatePaused   = "paused"   // a node waiting to be booted (its entrypoint holds it)
)

// ClusterStatus is one line of `kinc get clusters`; the JSON/YAML field
// names are a documented, stable interface (README "Output for scripts").
type ClusterStatus struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	// Nodes counts the node containers (not the load balancer).
	Nodes int `json:"nodes"`
	// APIServer is the API server's URL on the host ("" when not published:
	// the cluster is stopped).
	APIServer string `json:"apiServer"`
	// Context is the kubeconfig context kinc writes for the cluster.
	Context string `json:"context"`
	State   string `json:"state"`
}

// NodeStatus is one line of `kinc get nodes`.
type NodeStatus struct {
	Name  string `json:"name"`
	Role  string `json:"role"`
	State string `json:"state"`
	// IP is the address on the cluster network ("" when stopped).
	IP    string `json:"ip"`
	Image string `json:"image"`
}

// ClusterStatuses describes every cluster on p, sorted by name.
func ClusterStatuses(ctx context.Context, p Provider) ([]ClusterStatus, error) {
	containers, err := p.ListContainers(ctx, map[string]string{providers.LabelCluster: ""})
	if err != nil {
		return nil, err
	}
	byCluster := map[string][]providers.Container{}
	for _, c := range containers {
		if n := c.Labels[providers.LabelCluster]; n != "" {
			byCluster[n] = append(byCluster[n], c)
		}
	}
	var res []ClusterStatus
	for name, cs := range byCluster {
		st := ClusterStatus{Name: name, Provider: p.Name(), Context: ContextName(name), State: clusterState(cs)}
		for _, c := range cs {
			if c.Labels[providers.LabelRole] != RoleLoadBalancer {
				st.Nodes++
			}
		}
		if endpoint := apiEndpoint(cs); endpoint != "" {
			if hp, err := p.HostPort(ctx, endpoint, kubeadm.APIServerPort); err == nil {
				if addr, port, err := net.SplitHostPort(hp); err == nil {
					st.APIServer = "https://" + net.JoinHostPort(hostAddress(addr), port)
				}
			}
		}
		res = append(res, st)
	}
	sort.Slice(res, func(i, j int) bool { return res[i].Name < res[j].Name })
	return res, nil
}

func clusterState(cs []providers.Container) string {
	running := 0
	for _, c := range cs {
		if c.State == "running" {
			running++
		}
	}
	switch running {
	case len(cs):
		return StateRunning
	case 0:
		return StateStopped
	}
	return StateDegraded
}

// apiEndpoint is the container publishing the API server: the load
// balancer, else the first control plane.
func apiEndpoint(cs []providers.Container) string {
	var cp string
	for _, c := range cs {
		switch c.Labels[providers.LabelRole] {
		case RoleLoadBalancer:
			return c.Name
		case spec.RoleControlPlane:
			if cp == "" || c.Name < cp {
				cp = c.Name
			}
		}
	}
	return cp
}

// NodeStatuses describes a cluster's containers (nodes and load balancer),
// sorted by name; none when the cluster does not exist.
func NodeStatuses(ctx context.Context, p Provider, cluster string) ([]NodeStatus, error) {
	containers, err := ClusterContainers(ctx, p, cluster)
	if err != nil {
		return nil, err
	}
	states := NodeStates(ctx, p, containers)
	var res []NodeStatus
	for _, c := range containers {
		st := NodeStatus{Name: c.Name, Role: c.Labels[providers.LabelRole], State: states[c.Name], Image: c.Image}
		if c.State == "running" {
			if ip, err := p.ContainerIP(ctx, c.Name, NetworkName(cluster)); err == nil {
				st.IP = ip
			}
		}
		res = append(res, st)
	}
	sort.Slice(res, func(i, j int) bool { return res[i].Name < res[j].Name })
	return res, nil
}

// NodeStates tells the state of each container by name: the runtime's
// state when it is not running (exited, created...); for a running node,
// "paused" while its entrypoint waits to be booted (contract.StateFile),
// else "running". Containers without a state file (the load balancer) that
// run are "running".
func NodeStates(ctx context.Context, p Provider, containers []providers.Container) map[string]string {
	states := map[string]string{}
	for _, c := range containers {
		if c.State != "running" {
			states[c.Name] = c.State
			continue
		}
		states[c.Name] = StateRunning
		if c.Labels[providers.LabelRole] == RoleLoadBalancer {
			continue
		}
		out, err := p.Exec(ctx, c.Name, providers.ExecOptions{ReadOnly: true}, "cat", contract.StateFile)
		if err == nil && strings.TrimSpace(string(out)) == contract.StatePaused {
			states[c.Name] = StatePaused
		}
	}
	return states
}

// RunningNodes counts the running control-plane and worker containers of
// every kinc cluster on p.
func RunningNodes(ctx context.Context, p Provider) (controlPlanes, workers int, err error) {
	containers, err := p.ListContainers(ctx, map[string]string{providers.LabelCluster: ""})
	if err != nil {
		return 0, 0, err
	}
	for _, c := range containers {
		if c.State != "running" {
			continue
		}
		switch c.Labels[providers.LabelRole] {
		case spec.RoleControlPlane:
			controlPlanes++
		case spec.RoleWorker:
			workers++
		}
	}
	return controlPlanes, workers, nil
}
