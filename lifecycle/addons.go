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
	"github.com/kinc-dev/kinc/providers/run"
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
		Image: c.Images.CNI, PodSubnet: c.Spec.Networking.PodSubnet, ServiceSubnet: c.Spec.Networking.ServiceSubnet,
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
	err := poll(ctx, c.Wait, 250*time.Millisecond, "the cluster to be ready", func() (bool, error) {
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
	if err != nil && ctx.Err() == nil {
		// Timed out: say which pods are not ready and why, as far as
		// their state and last log line tell.
		if pods := c.notReadyPods(ctx); len(pods) > 0 {
			err = fmt.Errorf("%w\n  pods not ready:\n    %s", err, strings.Join(pods, "\n    "))
		}
	}
	return err
}

// maxPodsExplained bounds the kubectl logs calls after a wait timed out.
const maxPodsExplained = 8

// podStatusPath prints one line per pod: NAMESPACE/NAME PHASE then, per
// container, NAME=READY:WAITING-OR-TERMINATED-REASON:RESTARTS;
const podStatusPath = `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.status.phase} ` +
	`{range .status.containerStatuses[*]}{.name}={.ready}:{.state.waiting.reason}{.state.terminated.reason}:{.restartCount};{end}{"\n"}{end}`

// notReadyPods names every pod that is not ready, its state and the last
// line its container logged (of the previous run, after a restart), e.g.
// "kube-system/kube-proxy-x: CrashLoopBackOff: failed complete: too many open files".
func (c *Cluster) notReadyPods(ctx context.Context) []string {
	out, err := c.kubectl(ctx, nil, "get", "pods", "-A", "-o", podStatusPath)
	if err != nil {
		return []string{fmt.Sprintf("(could not list pods: %v)", err)}
	}
	var res []string
	for _, p := range parsePodStatus(string(out)) {
		if len(res) == maxPodsExplained {
			res = append(res, "...")
			break
		}
		line := p.pod + ": " + p.state
		if p.container != "" {
			ns, name, _ := strings.Cut(p.pod, "/")
			args := []string{"-n", ns, "logs", name, "-c", p.container, "--tail", "1"}
			if p.restarts > 0 {
				args = append(args, "--previous")
			}
			if logs, err := c.kubectl(ctx, nil, args...); err == nil {
				if last := strings.TrimSpace(run.Tail(string(logs), 1)); last != "" {
					line += ": " + last
				}
			}
		}
		res = append(res, line)
	}
	return res
}

type podProblem struct {
	pod, state, container string
	restarts              int
}

// parsePodStatus reads podStatusPath's output and keeps the pods that are
// not ready: the first container that is not, with its reason (else the
// pod's phase).
func parsePodStatus(out string) []podProblem {
	var res []podProblem
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		fields := strings.Fields(l)
		if len(fields) < 2 {
			continue
		}
		pod, phase := fields[0], fields[1]
		if phase == "Succeeded" {
			continue
		}
		p := podProblem{pod: pod, state: phase}
		bad := phase != "Running"
		if len(fields) > 2 {
			for _, cs := range strings.Split(strings.TrimSuffix(fields[2], ";"), ";") {
				name, rest, _ := strings.Cut(cs, "=")
				parts := strings.SplitN(rest, ":", 3)
				if len(parts) != 3 || parts[0] == "true" {
					continue
				}
				bad, p.container = true, name
				if parts[1] != "" {
					p.state = parts[1]
				} else {
					p.state = "not ready"
				}
				fmt.Sscanf(parts[2], "%d", &p.restarts)
				break
			}
		}
		if bad {
			res = append(res, p)
		}
	}
	return res
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
