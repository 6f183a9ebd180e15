package lifecycle

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/kinc-dev/kinc/lifecycle/kubeadm"
	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/nodeimage/contract"
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
	// From continues an existing cluster (one stopped with Until) at the
	// named stage: what the earlier stages learnt (node IPs, the API server
	// port, the bootstrap token) is read back from the runtime and the nodes.
	From string
	// Live shows each running stage's elapsed time, redrawn in place (for
	// a terminal).
	Live bool
	// Retain keeps what was created when creation fails.
	Retain bool
	// DryRun: the provider's runner prints instead of running (read-only
	// queries still run); every stage shows its commands, with <...>
	// placeholders for what only exists once the nodes do, and nothing
	// outside the runtime (the kubeconfig) is written.
	DryRun bool
	// Preflight, when set, checks the host before a new cluster is created
	// (after the name and the images are checked; not when continuing).
	Preflight func(ctx context.Context) error
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
	if err := checkStageRange(o.From, o.Until); err != nil {
		return nil, err
	}
	existing, err := o.Provider.ListContainers(ctx, clusterLabels(name))
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 && o.From == "" {
		return nil, fmt.Errorf("%w: %q has %d container(s) on %s; delete it first with: kinc delete cluster %s (or continue a cluster stopped with --until: kinc create cluster %s --from STAGE)",
			ErrClusterExists, name, len(existing), o.Provider.Name(), name, name)
	}
	if len(existing) == 0 && o.From != "" {
		return nil, fmt.Errorf("cluster %q not found on %s: nothing to continue --from %s; create it without --from", name, o.Provider.Name(), o.From)
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
	c.dryRun = o.DryRun
	if err := c.checkImages(ctx); err != nil {
		return nil, err
	}
	if err := c.adoptImageVersion(ctx); err != nil {
		return nil, err
	}
	if w := cgroupV1Warning(c.Host, c.Spec.KubernetesVersion); w != "" {
		c.detail("warning: %s", w)
	}
	if o.Preflight != nil && o.From == "" {
		if err := o.Preflight(ctx); err != nil {
			return nil, err
		}
	}
	if c.Token, err = kubeadm.NewToken(); err != nil {
		return nil, err
	}
	if c.LoadBalancerNeeded() {
		if c.CertificateKey, err = kubeadm.NewCertificateKey(); err != nil {
			return nil, err
		}
	}
	if o.From != "" {
		if err := c.resume(ctx, existing, o.From); err != nil {
			return nil, fmt.Errorf("continue cluster %q --from %s: %w", name, o.From, err)
		}
		fmt.Fprintf(c.Progress, "Continuing cluster %q on %s (%d nodes) from stage %s ...\n", name, o.Provider.Name(), len(nodes), o.From)
	} else {
		fmt.Fprintf(c.Progress, "Creating cluster %q on %s (%d nodes) ...\n", name, o.Provider.Name(), len(nodes))
	}
	timings, err := runStages(ctx, c, stageRun{from: o.From, until: o.Until, live: o.Live})
	if err == nil {
		return &Result{Cluster: c, Timings: timings}, nil
	}
	if o.DryRun {
		return nil, err
	}
	return nil, c.fail(o, err)
}

// FailedError is a creation that failed: the cause, and plain information
// for the user (where the logs are, what was kept or could not be cleaned
// up), which is not a second error.
type FailedError struct {
	Err   error
	notes []string
}

func (e *FailedError) Error() string   { return e.Err.Error() }
func (e *FailedError) Unwrap() error   { return e.Err }
func (e *FailedError) Notes() []string { return e.notes }

// fail exports logs and, unless asked to retain, deletes the cluster; it
// runs on a fresh context so that an interrupt still cleans up.
func (c *Cluster) fail(o CreateOptions, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.scaled(2*time.Minute))
	defer cancel()
	failed := &FailedError{Err: cause}
	dir := o.LogsDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("kinc-%s-logs-%s", c.Name, time.Now().Format("20060102-150405")))
	}
	if err := ExportLogs(ctx, c.Provider, c.Name, dir); err != nil {
		failed.notes = append(failed.notes, fmt.Sprintf("The logs could not be exported: %v", err))
	} else {
		failed.notes = append(failed.notes, fmt.Sprintf("Logs of the failed cluster are in %s", dir))
	}
	switch {
	case o.Retain || o.From != "":
		how := "--retain"
		if !o.Retain {
			how = "--from: a cluster being continued is never deleted"
		}
		failed.notes = append(failed.notes, fmt.Sprintf("Cluster %q is kept (%s); delete it with: kinc delete cluster %s", c.Name, how, c.Name))
	default:
		if _, err := Delete(ctx, c.Provider, c.Name); err != nil {
			failed.notes = append(failed.notes, fmt.Sprintf("Cleaning up failed, some of the cluster may be left: %v\nRemove it with: kinc delete cluster %s", err, c.Name))
		}
	}
	return failed
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

// adoptImageVersion makes the Kubernetes version kubeadm is configured for
// the one the node images carry (kinc's io.kinc.kubernetes-version label),
// so that `--image` of another version's node image just works; a spec that
// names a different version itself is refused before anything is created.
// An image without the label (not built by kinc) keeps the spec's version.
func (c *Cluster) adoptImageVersion(ctx context.Context) error {
	carried := map[string][]string{} // version -> images
	asked := map[string]bool{}
	for _, n := range c.Nodes {
		// Nodes mostly share one image: ask the runtime once per image.
		if asked[n.Image] {
			continue
		}
		asked[n.Image] = true
		v, err := c.Provider.ImageLabel(ctx, n.Image, contract.LabelKubernetesVersion)
		if err != nil {
			return err
		}
		if v != "" {
			carried[v] = append(carried[v], n.Image)
		}
	}
	if len(carried) == 0 {
		return nil
	}
	if len(carried) > 1 {
		var each []string
		for _, v := range slices.Sorted(maps.Keys(carried)) {
			each = append(each, fmt.Sprintf("%s carries %s", strings.Join(carried[v], ", "), v))
		}
		return fmt.Errorf("the node images carry different Kubernetes versions (%s): give every node an image of one version", strings.Join(each, "; "))
	}
	var version string
	for v := range carried {
		version = v
	}
	if version == c.Spec.KubernetesVersion {
		return nil
	}
	if c.Spec.Given("kubernetes_version") {
		return c.Spec.ErrorAt("kubernetes_version", "is %s, but node image %s carries Kubernetes %s: remove kubernetes_version or give an image of %s (kinc build node-image --kubernetes-version %s)",
			c.Spec.KubernetesVersion, carried[version][0], version, c.Spec.KubernetesVersion, c.Spec.KubernetesVersion)
	}
	c.detail("node image %s carries Kubernetes %s: kubeadm is configured for it", carried[version][0], version)
	c.Spec.KubernetesVersion = version
	return nil
}

// cgroupV1Warning says, on a cgroup v1 host, that the Kubernetes version
// runs there only because kinc turns kubelet's refusal off: kubelet v1.35
// and newer fail on cgroup v1 unless failCgroupV1 is false, and upstream
// is removing cgroup v1 support (containerd 2 too).
func cgroupV1Warning(host providers.Host, version string) string {
	if host.CgroupVersion != 1 {
		return ""
	}
	rest, ok := strings.CutPrefix(version, "v1.")
	minor, _, _ := strings.Cut(rest, ".")
	m, err := strconv.Atoi(minor)
	if !ok || err != nil || m < 35 {
		return ""
	}
	return fmt.Sprintf("this host runs cgroup v1: kubelet %s refuses it unless told not to (kinc sets failCgroupV1: false), and Kubernetes and containerd are removing cgroup v1 support; a cgroup v2 host is what %s expects", version, version)
}
