package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/kinc-dev/kinc/lifecycle/kubeadm"
	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/providers"
)

// AddNodeOptions are the inputs of AddNode.
type AddNodeOptions struct {
	Role string // worker (default) or control-plane
	// Image is the new node's image (default: the first control plane's).
	Image    string
	Host     providers.Host
	Progress io.Writer
	// Wait is how long to wait for the new node to be Ready (0: do not wait).
	Wait time.Duration
	// Retain keeps the new node when joining fails.
	Retain bool
}

// ErrNeedsLoadBalancer refuses a control plane for a cluster made without a
// load balancer.
var ErrNeedsLoadBalancer = errors.New("a control plane can only be added to a cluster made with several control planes")

// AddNode joins a new node to a running cluster, named like the others
// (NAME-worker3...), through the same steps as creation: provision,
// configure, boot, kubeadm join; a control plane is then added to the load
// balancer.
func AddNode(ctx context.Context, p Provider, cluster string, o AddNodeOptions) (*Node, error) {
	role := o.Role
	if role == "" {
		role = spec.RoleWorker
	}
	if role != spec.RoleWorker && role != spec.RoleControlPlane {
		return nil, fmt.Errorf("role %q: use %s or %s", role, spec.RoleWorker, spec.RoleControlPlane)
	}
	c, err := Existing(ctx, p, cluster, o.Progress)
	if err != nil {
		return nil, err
	}
	if stopped := c.notRunning(); len(stopped) > 0 {
		return nil, fmt.Errorf("nodes %s are not running: start the cluster first with: kinc start cluster --name %s", strings.Join(stopped, ", "), cluster)
	}
	if role == spec.RoleControlPlane && c.LoadBalancer == nil {
		return nil, fmt.Errorf("%w: cluster %q has no load balancer, so its API server address is its one control-plane node "+
			"(every kubeconfig, kubelet and certificate names it) and a second API server could not share that address",
			ErrNeedsLoadBalancer, cluster)
	}
	c.Host = o.Host
	if err := c.loadSpec(ctx); err != nil {
		return nil, err
	}
	c.Images.LoadBalancer = ""
	if c.LoadBalancer != nil {
		c.Images.LoadBalancer = c.LoadBalancer.Image
	}
	c.started = time.Now()
	n := &Node{Name: c.nextNodeName(role), Role: role, Spec: spec.Node{Role: role}, Image: o.Image}
	if n.Image == "" {
		n.Image = c.initNode().Image
	}
	fmt.Fprintf(c.Progress, "Adding %s %s to cluster %q ...\n", role, n.Name, cluster)
	have := map[string]bool{}
	for _, m := range c.Nodes {
		have[m.Name] = true
	}
	if c.LoadBalancer != nil {
		have[c.LoadBalancer.Name] = true
	}
	c.Nodes = append(c.Nodes, n)
	if err := c.joinCredentials(ctx, role); err != nil {
		return nil, err
	}
	err = c.addNode(ctx, n, have)
	if err == nil {
		return n, nil
	}
	if o.Retain {
		return nil, fmt.Errorf("add node %s: %w\n(kept as asked, --retain: remove it with kinc delete node %s --name %s)", n.Name, err, n.Name, cluster)
	}
	// Nothing half-made stays: the container, its volume, and the
	// Kubernetes node if the join got that far.
	cleanup := context.WithoutCancel(ctx)
	errs := multierror.Append(nil, fmt.Errorf("add node %s: %w", n.Name, err))
	if _, derr := c.kubectl(cleanup, nil, "delete", "node", n.Name, "--ignore-not-found", "--wait=false"); derr != nil {
		errs = multierror.Append(errs, derr)
	}
	if derr := c.removeContainer(cleanup, n); derr != nil {
		errs = multierror.Append(errs, derr)
	}
	return nil, errs.ErrorOrNil()
}

func (c *Cluster) addNode(ctx context.Context, n *Node, have map[string]bool) error {
	steps := []struct {
		name string
		run  func() error
	}{
		{"provision", func() error {
			if err := c.assignIPs(ctx, have); err != nil {
				return err
			}
			if err := c.runNode(ctx, n); err != nil {
				return err
			}
			return c.waitPaused(ctx, n)
		}},
		{"configure", func() error {
			if err := c.updateHosts(ctx, n.Name); err != nil {
				return err
			}
			return c.configureNodes(ctx, []*Node{n})
		}},
		{"boot", func() error { return c.bootNodes(ctx, []*Node{n}) }},
		{"kubeadm", func() error {
			if err := c.writeDiscovery(ctx, []*Node{n}); err != nil {
				return err
			}
			return c.join(ctx, n)
		}},
		{"load-balancer", func() error { return c.recreateLoadBalancer(ctx) }},
		{"wait", func() error { return c.waitNodeReady(ctx, n) }},
	}
	for _, s := range steps {
		if s.name == "load-balancer" && n.Role != spec.RoleControlPlane {
			continue // only a control plane is one of its backends
		}
		start := time.Now()
		if err := s.run(); err != nil {
			fmt.Fprintf(c.Progress, " ✗ %-13s %6.1fs\n", s.name, time.Since(start).Seconds())
			return &StageError{Stage: s.name, Err: err}
		}
		fmt.Fprintf(c.Progress, " ✓ %-13s %6.1fs\n", s.name, time.Since(start).Seconds())
	}
	return nil
}

// joinCredentials makes a bootstrap token (the creation's has expired after
// a day) and, for a control plane, uploads the control-plane certificates
// under a new key, as kubeadm's join of a control plane needs.
func (c *Cluster) joinCredentials(ctx context.Context, role string) error {
	out, err := c.nodeCommand(ctx, c.initNode(), nil, "kubeadm", "token", "create", "--ttl", "30m")
	if err != nil {
		return fmt.Errorf("create a bootstrap token: %w", err)
	}
	c.Token = strings.TrimSpace(string(out))
	if role != spec.RoleControlPlane {
		return nil
	}
	if c.CertificateKey, err = kubeadm.NewCertificateKey(); err != nil {
		return err
	}
	// The node kubectl runs on may have joined (its own kubeadm.yaml is a
	// JoinConfiguration): upload-certs gets an init configuration of its own.
	admin := c.initNode()
	cfg, err := kubeadm.Render(c.kubeadmCluster(), kubeadm.Node{Name: admin.Name, IP: admin.IP, Role: admin.Role, Init: true})
	if err != nil {
		return err
	}
	if err := c.Provider.WriteFile(ctx, admin.Name, uploadCertsConfig, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("node %s: write %s: %w", admin.Name, uploadCertsConfig, err)
	}
	// The configuration carries the new certificate key.
	if _, err := c.nodeCommand(ctx, admin, nil, "kubeadm", "init", "phase", "upload-certs", "--upload-certs",
		"--config", uploadCertsConfig); err != nil {
		return fmt.Errorf("upload the control-plane certificates: %w", err)
	}
	return nil
}

const uploadCertsConfig = "/etc/kinc/upload-certs.yaml"

// nextNodeName is NAME-ROLE followed by one more than the highest number in
// use, so that a removed node's name is not given to a new one.
func (c *Cluster) nextNodeName(role string) string {
	highest := 0
	for _, n := range c.Nodes {
		if n.Role == role {
			highest = max(highest, nodeNumber(n.Name, role))
		}
	}
	name := c.Name + "-" + role
	if highest > 0 {
		name += fmt.Sprint(highest + 1)
	}
	return name
}

func (c *Cluster) notRunning() []string {
	var res []string
	for _, n := range c.Nodes {
		if n.State != "running" {
			res = append(res, n.Name)
		}
	}
	if c.LoadBalancer != nil && c.LoadBalancer.State != "running" {
		res = append(res, c.LoadBalancer.Name)
	}
	return res
}

// waitNodeReady waits until the node reports Ready (no limit: the caller's
// context bounds it).
func (c *Cluster) waitNodeReady(ctx context.Context, n *Node) error {
	return poll(ctx, 5*time.Minute, 500*time.Millisecond, "node "+n.Name+" to be Ready", func() (bool, error) {
		out, err := c.kubectl(ctx, nil, "get", "node", n.Name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			return false, err
		}
		if s := strings.TrimSpace(string(out)); s != "True" {
			return false, fmt.Errorf("node %s is not Ready (%q)", n.Name, s)
		}
		c.detail("%s Ready at %.1fs", n.Name, time.Since(c.started).Seconds())
		return true, nil
	})
}

// recreateLoadBalancer makes the load balancer again with the current
// control planes as its backends, at its fixed address and published port.
func (c *Cluster) recreateLoadBalancer(ctx context.Context) error {
	if c.LoadBalancer == nil {
		return nil
	}
	if err := c.Provider.DeleteContainers(ctx, c.LoadBalancer.Name); err != nil {
		return fmt.Errorf("load balancer: %w", err)
	}
	if err := c.runLoadBalancer(ctx); err != nil {
		return err
	}
	// The API answers through it again before anything else goes on.
	return poll(ctx, time.Minute, 250*time.Millisecond, "the API server through the load balancer", func() (bool, error) {
		_, err := c.kubectl(ctx, nil, "get", "--raw", "/readyz")
		return err == nil, err
	})
}

// removeContainer deletes a node's container and its containerd volume.
func (c *Cluster) removeContainer(ctx context.Context, n *Node) error {
	var errs *multierror.Error
	if err := c.Provider.DeleteContainers(ctx, n.Name); err != nil {
		errs = multierror.Append(errs, fmt.Errorf("delete container %s: %w", n.Name, err))
	}
	if err := c.Provider.DeleteVolumes(ctx, n.Name+"-containerd"); err != nil {
		errs = multierror.Append(errs, fmt.Errorf("delete volume of %s: %w", n.Name, err))
	}
	return errs.ErrorOrNil()
}

// RemoveNode drains a node, removes it from the cluster (a control plane
// from etcd too, with kubeadm reset) and deletes its container and volume.
// The last control plane cannot be removed.
func RemoveNode(ctx context.Context, p Provider, cluster, node string, host providers.Host, progress io.Writer) error {
	c, err := Existing(ctx, p, cluster, progress)
	if err != nil {
		return err
	}
	c.Host = host
	i := slices.IndexFunc(c.Nodes, func(m *Node) bool { return m.Name == node })
	if i < 0 {
		var names []string
		for _, m := range c.Nodes {
			names = append(names, m.Name)
		}
		return fmt.Errorf("cluster %q has no node %s (its nodes: %s)", cluster, node, strings.Join(names, ", "))
	}
	if stopped := c.notRunning(); len(stopped) > 0 {
		return fmt.Errorf("nodes %s are not running: start the cluster first with: kinc start cluster --name %s", strings.Join(stopped, ", "), cluster)
	}
	n := c.Nodes[i]
	// kubectl runs on a control plane that stays.
	var admin *Node
	for _, m := range c.Nodes {
		m.Init = false
		if admin == nil && m != n && m.Role == spec.RoleControlPlane && m.State == "running" {
			admin = m
		}
	}
	if admin == nil {
		if n.Role == spec.RoleControlPlane && len(c.nodesWithRole(spec.RoleControlPlane)) == 1 {
			return fmt.Errorf("node %s is the cluster's only control plane: delete the cluster instead (kinc delete cluster --name %s)", node, cluster)
		}
		return fmt.Errorf("no other control plane of cluster %q runs: start the cluster first with: kinc start cluster --name %s", cluster, cluster)
	}
	admin.Init = true
	if err := c.loadSpec(ctx); err != nil {
		return err
	}
	if c.LoadBalancer != nil {
		c.Images.LoadBalancer = c.LoadBalancer.Image
	}
	start := time.Now()
	if _, err := c.kubectl(ctx, nil, "drain", n.Name, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=2m"); err != nil {
		return fmt.Errorf("drain %s: %w", n.Name, err)
	}
	c.detail("drained %s in %.1fs", n.Name, time.Since(start).Seconds())
	if n.Role == spec.RoleControlPlane {
		// kubeadm reset removes the node's etcd member while etcd still
		// has its quorum.
		if _, err := c.nodeCommand(ctx, n, nil, "kubeadm", "reset", "--force"); err != nil {
			return fmt.Errorf("remove %s from the control plane: %w", n.Name, err)
		}
	}
	if _, err := c.kubectl(ctx, nil, "delete", "node", n.Name, "--ignore-not-found"); err != nil {
		return fmt.Errorf("delete Kubernetes node %s: %w", n.Name, err)
	}
	if err := c.removeContainer(ctx, n); err != nil {
		return err
	}
	c.Nodes = slices.Delete(c.Nodes, i, i+1)
	var errs *multierror.Error
	if err := c.updateHosts(ctx, ""); err != nil {
		errs = multierror.Append(errs, err)
	}
	if n.Role == spec.RoleControlPlane {
		if err := c.recreateLoadBalancer(ctx); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	c.detail("removed %s in %.1fs", n.Name, time.Since(start).Seconds())
	return errs.ErrorOrNil()
}
