package lifecycle

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/kinc-dev/kinc/lifecycle/kubeadm"
	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/providers"
)

// CreateOptions are the inputs of Create.
type CreateOptions struct {
	Spec     *spec.Cluster
	Provider Provider
	// Host is what the provider detected; nodes run with the options it allows.
	Host     providers.Host
	Images   Images
	Progress io.Writer
	// Kubeconfig is the file to merge the context into.
	Kubeconfig string
	Wait       time.Duration
	// Until stops after the named stage, leaving the cluster as it is.
	Until string
	// Retain keeps what was created when creation fails.
	Retain bool
	// DryRun runs the provision stage with a runner that prints instead of
	// running, and stops there: nothing exists to configure or boot.
	DryRun bool
	// LogsDir is where logs go when creation fails (a temporary directory when empty).
	LogsDir string
	// TimeoutScale multiplies kinc's own fixed waits (a node reaching its
	// paused state, containerd answering after boot, the clean-up after a
	// failure) for hosts many times slower than usual, e.g. emulated VMs.
	// Values below 1 (and 0, unset) mean 1.
	TimeoutScale float64
}

// Result describes a created cluster.
type Result struct {
	Cluster *Cluster
	Timings []Timing
}

// Create creates a cluster. Nothing is created when the name is taken or the
// images are missing; on failure logs are exported and everything created is
// deleted unless Retain is set.
func Create(ctx context.Context, o CreateOptions) (*Result, error) {
	name := o.Spec.Name
	host := o.Host
	if len(host.Problems) > 0 {
		return nil, fmt.Errorf("%s on this host cannot run clusters: %s", o.Provider.Name(), strings.Join(host.Problems, "; "))
	}
	existing, err := o.Provider.ListContainers(ctx, clusterLabels(name))
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return nil, fmt.Errorf("%w: %q has %d container(s) on %s; delete it first with: kinc delete cluster --name %s",
			ErrClusterExists, name, len(existing), o.Provider.Name(), name)
	}
	nodes := planNodes(name, o.Spec.Nodes, o.Images.Node)
	c := &Cluster{
		Name: name, Spec: o.Spec, Provider: o.Provider, Host: host, Images: o.Images,
		Progress: o.Progress, Network: NetworkName(name), Nodes: nodes,
		APIServerPort: o.Spec.Networking.APIServerPort, Kubeconfig: o.Kubeconfig, Wait: o.Wait,
		timeoutScale: o.TimeoutScale,
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	c.started = time.Now()
	if err := c.checkImages(ctx); err != nil {
		return nil, err
	}
	if c.Token, err = kubeadm.NewToken(); err != nil {
		return nil, err
	}
	if c.LoadBalancerNeeded() {
		if c.CertificateKey, err = kubeadm.NewCertificateKey(); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(c.Progress, "Creating cluster %q on %s (%d nodes) ...\n", name, o.Provider.Name(), len(nodes))
	until := o.Until
	if o.DryRun {
		c.dryRun, until = true, provision{}.Name()
	}
	timings, err := runStages(ctx, c, until)
	if err == nil {
		return &Result{Cluster: c, Timings: timings}, nil
	}
	return nil, c.fail(o, err)
}

// fail exports logs and, unless asked to retain, deletes the cluster; it
// runs on a fresh context so that an interrupt still cleans up.
func (c *Cluster) fail(o CreateOptions, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.scaled(2*time.Minute))
	defer cancel()
	errs := multierror.Append(nil, cause)
	dir := o.LogsDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("kinc-%s-logs-%s", c.Name, time.Now().Format("20060102-150405")))
	}
	if err := ExportLogs(ctx, c.Provider, c.Name, dir); err != nil {
		errs = multierror.Append(errs, fmt.Errorf("export logs: %w", err))
	} else {
		errs = multierror.Append(errs, fmt.Errorf("logs of the failed cluster are in %s", dir))
	}
	if o.Retain {
		errs = multierror.Append(errs, fmt.Errorf("cluster %q retained (--retain); delete it with: kinc delete cluster --name %s", c.Name, c.Name))
	} else if _, err := Delete(ctx, c.Provider, c.Name, ""); err != nil {
		errs = multierror.Append(errs, fmt.Errorf("clean up: %w", err))
	}
	return errs
}

// checkImages fails early, before anything is created, when an image is missing.
func (c *Cluster) checkImages(ctx context.Context) error {
	want := map[string]string{}
	for _, n := range c.Nodes {
		want[n.Image] = "node image"
	}
	if c.LoadBalancerNeeded() {
		want[c.Images.LoadBalancer] = "load-balancer image"
	}
	var errs *multierror.Error
	for _, image := range slices.Sorted(maps.Keys(want)) {
		ok, err := c.Provider.ImageExists(ctx, image)
		if err != nil {
			errs = multierror.Append(errs, err)
		} else if !ok {
			errs = multierror.Append(errs, fmt.Errorf("%s %s is not in %s: build it with: kinc build node-image --provider %s (nothing can be pulled)",
				want[image], image, c.Provider.Name(), c.Provider.Name()))
		}
	}
	return errs.ErrorOrNil()
}
