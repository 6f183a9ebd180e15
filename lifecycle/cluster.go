// Package lifecycle creates and deletes kinc clusters through a list of
// stages: provision, configure, boot, kubeadm, CNI, storage, wait, kubeconfig.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// RoleLoadBalancer labels the load-balancer container of an HA cluster.
const RoleLoadBalancer = "load-balancer"

// Node is one node container of the cluster being created.
type Node struct {
	Name string
	Role string
	Spec spec.Node
	// Image is the node image this node runs.
	Image string
	// IP is the node's address on the cluster network, known after provision.
	IP string
	// Init marks the control-plane node that runs kubeadm init.
	Init bool
	// State is the container's state (running, exited...), for a cluster
	// read back by Existing.
	State string
}

// Images names the images a cluster uses.
type Images struct {
	Node         string // default node image
	LoadBalancer string
	CNI          string
	Provisioner  string
}

// Cluster is a cluster being created: its spec and what the stages learn.
type Cluster struct {
	Name     string
	Spec     *spec.Cluster
	Provider Provider
	Host     providers.Host
	Images   Images
	// Progress receives one line per stage.
	Progress   io.Writer
	progressMu sync.Mutex
	// redraw redraws the running stage's clock line (live progress only).
	redraw func()

	Network string
	Nodes   []*Node
	// LoadBalancerIP is the load balancer's fixed address (HA clusters).
	LoadBalancerIP string
	// LoadBalancer is the load balancer's container of an existing cluster.
	LoadBalancer *providers.Container
	// APIServerPort is the host port the API server (or load balancer) is published on.
	APIServerPort  int
	Token          string
	CertificateKey string

	// Kubeconfig is the file the cluster's context is merged into.
	Kubeconfig string
	// Wait is how long to wait for every node to be Ready (0: do not wait).
	Wait time.Duration
	// started is when creation began, for the progress lines.
	started time.Time
	// timeoutScale multiplies the fixed waits (see CreateOptions.TimeoutScale).
	timeoutScale float64
	// dryRun: the provider prints commands instead of running them, so
	// nothing it would create can be asked about.
	dryRun bool
}

// NetworkName is the per-cluster network.
func NetworkName(cluster string) string { return "kinc-" + cluster }

// ContextName is the kubeconfig context (and cluster and user) name.
func ContextName(cluster string) string { return "kinc-" + cluster }

// LoadBalancerName is the HA load balancer's container name.
func LoadBalancerName(cluster string) string { return cluster + "-external-load-balancer" }

// ownership labels of every object of the cluster.
func clusterLabels(cluster string) map[string]string {
	return map[string]string{providers.LabelCluster: cluster}
}

func roleLabels(cluster, role string) map[string]string {
	return map[string]string{providers.LabelCluster: cluster, providers.LabelRole: role}
}

// planNodes names the nodes kind-style: NAME-control-plane, NAME-control-plane2,
// NAME-worker, NAME-worker2...
func planNodes(name string, nodes []spec.Node, defaultImage string) []*Node {
	count := map[string]int{}
	var res []*Node
	for _, sn := range nodes {
		count[sn.Role]++
		n := &Node{Name: name + "-" + sn.Role, Role: sn.Role, Spec: sn, Image: sn.Image}
		if count[sn.Role] > 1 {
			n.Name += fmt.Sprint(count[sn.Role])
		}
		if n.Image == "" {
			n.Image = defaultImage
		}
		res = append(res, n)
	}
	for _, n := range res {
		if n.Role == spec.RoleControlPlane {
			n.Init = true
			break
		}
	}
	return res
}

// initNode is the control-plane node running kubeadm init.
func (c *Cluster) initNode() *Node {
	for _, n := range c.Nodes {
		if n.Init {
			return n
		}
	}
	return nil
}

func (c *Cluster) nodesWithRole(role string) []*Node {
	var res []*Node
	for _, n := range c.Nodes {
		if n.Role == role {
			res = append(res, n)
		}
	}
	return res
}

// parallel runs fn for every item at once and collects every failure, in
// the items' order (so that messages do not depend on which finished first).
func parallel[T any](items []T, fn func(T) error) error {
	var wg sync.WaitGroup
	results := make([]error, len(items))
	for i, item := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = fn(item)
		}()
	}
	wg.Wait()
	var errs *multierror.Error
	for _, err := range results {
		if err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	return errs.ErrorOrNil()
}

// scaled is one of kinc's fixed waits on this host: d times the timeout
// scale, never less than d.
func (c *Cluster) scaled(d time.Duration) time.Duration {
	if c.timeoutScale <= 1 {
		return d
	}
	return time.Duration(float64(d) * c.timeoutScale)
}

// permanentError stops a poll at once.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// poll calls check every interval until it reports done, fails for good (a
// *permanentError), or timeout passes; the last transient error explains a
// timeout.
func poll(ctx context.Context, timeout, interval time.Duration, what string, check func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		done, err := check()
		if done {
			return nil
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return perm.err
		}
		last = err
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("timed out after %s waiting for %s: %w", timeout, what, last)
			}
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		case <-time.After(interval):
		}
	}
}

// nodeCommand runs args in a node; a failure carries the tail of the
// combined output, which for kubeadm is where the reason is.
func (c *Cluster) nodeCommand(ctx context.Context, n *Node, stdin io.Reader, args ...string) ([]byte, error) {
	var combined lockedBuffer
	out, err := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{Stdin: stdin, Stderr: &combined}, args...)
	if err != nil {
		return out, &NodeError{Node: n.Name, Err: err, Output: run.Tail(string(out)+combined.String(), 25)}
	}
	return out, nil
}

// NodeError is a command that failed in a node.
type NodeError struct {
	Node   string
	Err    error
	Output string
}

func (e *NodeError) Error() string {
	msg := fmt.Sprintf("node %s: %v", e.Node, e.Err)
	var cmdErr *run.Error
	short := false
	if errors.As(e.Err, &cmdErr) && strings.Contains(e.Output, strings.TrimSpace(cmdErr.Output)) {
		// The combined output already holds what the command's error
		// quotes (its stderr tail): say it once, below.
		msg = fmt.Sprintf("node %s: command failed: %s: %v", e.Node, cmdErr.Line, cmdErr.Err)
		short = true
	}
	if e.Output != "" && (short || !strings.Contains(e.Err.Error(), e.Output)) {
		msg += "\n  output (tail):\n    " + strings.ReplaceAll(e.Output, "\n", "\n    ")
	}
	return msg
}

func (e *NodeError) Unwrap() error { return e.Err }

type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ErrClusterExists is returned when creating a cluster whose name is taken.
var ErrClusterExists = errors.New("cluster already exists")
