//go:build e2e

// Package e2e creates real clusters with the kinc binary on real docker and
// podman and checks that they work: nodes Ready, DNS, pod and service
// traffic across nodes, storage, and a clean delete.
package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var runtimes = []string{"docker", "podman"}

type cluster struct {
	t          *testing.T
	kinc       string
	runtime    string
	name       string
	kubeconfig string
	kubectl    string
}

var (
	buildOnce sync.Once
	builtKinc string
	buildErr  error
)

// kincBinary builds kinc from this tree once per test run.
func kincBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kinc-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtKinc = filepath.Join(dir, "kinc")
		cmd := exec.Command("go", "build", "-o", builtKinc, "../..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build kinc: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtKinc
}

func run(t testing.TB, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := runTo(timeout, &out, &out, name, args...)
	return out.String(), err
}

// runOut runs a command for its standard output alone. Its standard error
// goes into the error only: kubectl writes its own complaints there (kubectl
// 1.33's exec logs "Unknown stream id 1, discarding message" on commands
// that worked), and they are not the output of the command it ran.
func runOut(t testing.TB, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	var out, stderr bytes.Buffer
	if err := runTo(timeout, &out, &stderr, name, args...); err != nil {
		return out.String(), fmt.Errorf("%w\n%s", err, stderr.String())
	}
	return out.String(), nil
}

func runTo(timeout time.Duration, stdout, stderr io.Writer, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("timed out after %s", timeout)
	}
}

func mustRun(t testing.TB, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := run(t, timeout, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// create makes a cluster and registers its deletion (and the check that
// nothing is left) for the end of the test.
func create(t *testing.T, runtime, name, config string) *cluster {
	t.Helper()
	c := &cluster{t: t, kinc: kincBinary(t), runtime: runtime, name: name, kubeconfig: filepath.Join(t.TempDir(), "kubeconfig")}
	// A leftover from an interrupted run would make create fail: clear it.
	run(t, time.Minute, c.kinc, "--provider", runtime, "delete", "cluster", "--name", name, "--kubeconfig", c.kubeconfig)
	args := []string{"--provider", runtime, "create", "cluster", "--name", name, "--wait", "3m", "--kubeconfig", c.kubeconfig}
	if config != "" {
		args = append(args, "--config", config)
	}
	// make e2e-version runs the cluster tests on another Kubernetes
	// version's node image.
	if image := os.Getenv("KINC_E2E_NODE_IMAGE"); image != "" {
		args = append(args, "--image", image)
	}
	start := time.Now()
	out, err := run(t, 6*time.Minute, c.kinc, args...)
	t.Logf("kinc create cluster (%s, %s) took %.1fs:\n%s", runtime, name, time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("kinc create cluster: %v", err)
	}
	t.Cleanup(c.deleteAndCheck)
	// Use the cluster's own kubectl version, copied out of its first node.
	c.kubectl = filepath.Join(t.TempDir(), "kubectl")
	mustRun(t, time.Minute, runtime, "cp", name+"-control-plane:/usr/bin/kubectl", c.kubectl)
	if want := os.Getenv("KINC_E2E_KUBERNETES_VERSION"); want != "" {
		versions := c.k("get", "nodes", "-o", `jsonpath={range .items[*]}{.status.nodeInfo.kubeletVersion} {.status.nodeInfo.containerRuntimeVersion}{"\n"}{end}`)
		t.Logf("kubelet and container runtime of each node:\n%s", versions)
		for _, l := range strings.Split(strings.TrimSpace(versions), "\n") {
			if kubelet, _, _ := strings.Cut(l, " "); kubelet != want {
				t.Errorf("a node runs kubelet %s, want %s (KINC_E2E_KUBERNETES_VERSION)", kubelet, want)
			}
		}
	}
	return c
}

func (c *cluster) k(args ...string) string {
	c.t.Helper()
	args = append([]string{"--kubeconfig", c.kubeconfig, "--context", "kinc-" + c.name}, args...)
	out, err := runOut(c.t, 3*time.Minute, c.kubectl, args...)
	if err != nil {
		c.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// waitReady waits for the pods (kubectl wait targets such as pod/writer or
// "pod -l app=web") to be Ready; on a timeout it logs what they are doing
// before failing.
func (c *cluster) waitReady(timeout time.Duration, target ...string) {
	c.t.Helper()
	args := append([]string{"--kubeconfig", c.kubeconfig, "--context", "kinc-" + c.name, "wait", "--for=condition=Ready"}, target...)
	args = append(args, fmt.Sprintf("--timeout=%ds", int(timeout.Seconds())))
	out, err := run(c.t, timeout+time.Minute, c.kubectl, args...)
	if err == nil {
		return
	}
	describe, _ := run(c.t, time.Minute, c.kubectl, append([]string{"--kubeconfig", c.kubeconfig, "--context", "kinc-" + c.name, "describe"}, target...)...)
	pods, _ := run(c.t, time.Minute, c.kubectl, "--kubeconfig", c.kubeconfig, "--context", "kinc-"+c.name, "get", "pods", "-A", "-o", "wide")
	c.t.Fatalf("kubectl wait %v: %v\n%s\n--- describe:\n%s\n--- pods:\n%s", target, err, out, run2tail(describe, 60), pods)
}

func run2tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (c *cluster) kApply(manifest string) {
	c.t.Helper()
	f := filepath.Join(c.t.TempDir(), "m.yaml")
	os.WriteFile(f, []byte(manifest), 0o644)
	c.k("apply", "-f", f)
}

func (c *cluster) deleteAndCheck() {
	t := c.t
	start := time.Now()
	out, err := run(t, 2*time.Minute, c.kinc, "--provider", c.runtime, "delete", "cluster", "--name", c.name, "--kubeconfig", c.kubeconfig)
	t.Logf("kinc delete cluster took %.1fs: %s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Errorf("kinc delete cluster: %v", err)
	}
	if left := labelled(t, c.runtime, c.name); left != "" {
		t.Errorf("left behind after delete: %s", left)
	}
	if rules, err := run(t, time.Minute, "iptables", "-S", "FORWARD"); err != nil || strings.Contains(rules, `"kinc network kinc-`+c.name+`"`) {
		t.Errorf("host FORWARD rule of the cluster's network left behind (or iptables failed: %v):\n%s", err, rules)
	}
	if data, _ := os.ReadFile(c.kubeconfig); strings.Contains(string(data), "kinc-"+c.name) {
		t.Errorf("kubeconfig still holds context kinc-%s:\n%s", c.name, data)
	}
	// Deleting again reports "not found" and succeeds, for idempotent scripts.
	out, err = run(t, time.Minute, c.kinc, "--provider", c.runtime, "delete", "cluster", "--name", c.name)
	if err != nil || !strings.Contains(out, "not found") {
		t.Errorf("second delete: %v: %s", err, out)
	}
}

// labelled lists the containers, volumes and networks on runtime that carry
// the cluster's label, as "container NAME volume NAME ...": empty when none.
func labelled(t testing.TB, runtime, cluster string) string {
	t.Helper()
	label := "label=io.kinc.cluster=" + cluster
	var found []string
	for _, args := range [][]string{
		{"ps", "-a", "--filter", label, "--format", "{{.Names}}"},
		{"volume", "ls", "--filter", label, "--format", "{{.Name}}"},
		{"network", "ls", "--filter", label, "--format", "{{.Name}}"},
	} {
		kind := map[string]string{"ps": "container", "volume": "volume", "network": "network"}[args[0]]
		for _, n := range strings.Fields(mustRun(t, time.Minute, runtime, args...)) {
			found = append(found, kind+" "+n)
		}
	}
	return strings.Join(found, " ")
}

// nodes returns the cluster's node names and checks each is Ready.
func (c *cluster) readyNodes(want int) []string {
	c.t.Helper()
	out := c.k("get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		name, status, _ := strings.Cut(l, "=")
		if status != "True" {
			c.t.Errorf("node %s is not Ready (%s)", name, status)
		}
		names = append(names, name)
	}
	if len(names) != want {
		c.t.Fatalf("cluster has %d nodes %v, want %d", len(names), names, want)
	}
	return names
}
