//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func (c *cluster) kincCmd(args ...string) (string, error) {
	c.t.Helper()
	return run(c.t, harnessTimeout(args), c.kinc, append([]string{"--provider", c.runtime}, args...)...)
}

// harnessTimeout is how long a kinc command may run before the test kills
// it: 3 min, or its own --wait and 2 min more, so that kinc's wait, not
// the harness, is what ends a slow command (HA's start --wait 4m was
// killed at 3 min on a loaded host, with every node Ready again).
func harnessTimeout(args []string) time.Duration {
	timeout := 3 * time.Minute
	if i := slices.Index(args, "--wait"); i >= 0 && i+1 < len(args) {
		if d, err := time.ParseDuration(args[i+1]); err == nil && d+2*time.Minute > timeout {
			timeout = d + 2*time.Minute
		}
	}
	return timeout
}

// checkCLI drives the commands around a running cluster: a second create
// with the same name fails and changes nothing; get clusters, nodes and
// kubeconfig (--internal used from inside a node); export kubeconfig and
// logs.
func (c *cluster) checkCLI(nodes []string) {
	t := c.t
	containerIDs := func() string {
		return mustRun(t, time.Minute, c.runtime, "ps", "-a", "-q", "--no-trunc", "--filter", "label=io.kinc.cluster="+c.name)
	}
	idsBefore, objectsBefore := containerIDs(), labelled(t, c.runtime, c.name)
	kubeconfigBefore, _ := os.ReadFile(c.kubeconfig)
	out, err := c.kincCmd("create", "cluster", "--name", c.name, "--kubeconfig", c.kubeconfig)
	if err == nil || !strings.Contains(out, "already exists") || !strings.Contains(out, "kinc delete cluster "+c.name) {
		t.Errorf("create of an existing cluster: %v, want an error saying it exists and how to delete it:\n%s", err, out)
	}
	kubeconfigAfter, _ := os.ReadFile(c.kubeconfig)
	if ids, objects := containerIDs(), labelled(t, c.runtime, c.name); ids != idsBefore || objects != objectsBefore || string(kubeconfigAfter) != string(kubeconfigBefore) {
		t.Errorf("the refused create changed something: containers %q -> %q, objects %q -> %q, kubeconfig changed: %v",
			idsBefore, ids, objectsBefore, objects, string(kubeconfigAfter) != string(kubeconfigBefore))
	}

	if out, err := c.kincCmd("get", "clusters"); err != nil || !slices.Contains(strings.Fields(out), c.name) {
		t.Errorf("get clusters: %v, want %s listed:\n%s", err, c.name, out)
	}
	out, err = c.kincCmd("get", "nodes", "--name", c.name)
	if err != nil {
		t.Errorf("get nodes: %v\n%s", err, out)
	}
	for _, n := range nodes {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(n) + `\s+(control-plane|worker)\s+running\s`).MatchString(out) {
			t.Errorf("get nodes lacks %s as a running node:\n%s", n, out)
		}
	}
	if out, err := c.kincCmd("get", "kubeconfig", "--name", "e2e-no-such-cluster"); err == nil || !strings.Contains(out, "not found") {
		t.Errorf("get kubeconfig of a missing cluster: %v, want \"not found\":\n%s", err, out)
	}

	// --internal addresses the API server on the cluster network: kubectl in
	// a node (a container on that network) reaches it with that kubeconfig.
	// (Not in /tmp: docker cp writes under the node's tmpfs, where exec cannot see it.)
	internal, err := c.kincCmd("get", "kubeconfig", "--name", c.name, "--internal")
	if err != nil {
		t.Fatalf("get kubeconfig --internal: %v\n%s", err, internal)
	}
	if !strings.Contains(internal, "server: https://"+c.name+"-control-plane:6443") {
		t.Errorf("internal kubeconfig does not address %s-control-plane:6443:\n%s", c.name, internal)
	}
	f := filepath.Join(t.TempDir(), "internal.kubeconfig")
	os.WriteFile(f, []byte(internal), 0o600)
	node := c.name + "-control-plane"
	mustRun(t, time.Minute, c.runtime, "cp", f, node+":/root/internal.kubeconfig")
	if out := mustRun(t, time.Minute, c.runtime, "exec", node, "kubectl", "--kubeconfig", "/root/internal.kubeconfig", "get", "nodes", "-o", "name"); strings.Count(out, "node/") != len(nodes) {
		t.Errorf("kubectl with the internal kubeconfig in %s: %s", node, out)
	}

	exported := filepath.Join(t.TempDir(), "exported")
	if out, err := c.kincCmd("export", "kubeconfig", "--name", c.name, "--kubeconfig", exported); err != nil {
		t.Errorf("export kubeconfig: %v\n%s", err, out)
	}
	if out := mustRun(t, time.Minute, c.kubectl, "--kubeconfig", exported, "--context", "kinc-"+c.name, "get", "nodes", "-o", "name"); strings.Count(out, "node/") != len(nodes) {
		t.Errorf("kubectl with the exported kubeconfig: %s", out)
	}
	if fi, err := os.Stat(exported); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("exported kubeconfig mode: %v %v, want 0600", fi.Mode(), err)
	}

	logs := filepath.Join(t.TempDir(), "logs")
	if out, err := c.kincCmd("export", "logs", "--name", c.name, logs); err != nil {
		t.Errorf("export logs: %v\n%s", err, out)
	}
	checkLogs(t, logs, nodes)
}

// checkLogs checks that dir holds, for every node, its container log and a
// kubelet journal that is not empty.
func checkLogs(t *testing.T, dir string, nodes []string) {
	t.Helper()
	for _, n := range nodes {
		for _, f := range []string{"container.log", "inspect.json", "kubelet.log"} {
			if fi, err := os.Stat(filepath.Join(dir, n, f)); err != nil || fi.Size() == 0 {
				t.Errorf("logs in %s: %s/%s missing or empty (%v)", dir, n, f, err)
			}
		}
	}
}

// TestE2ECreateFails makes kubeadm init fail (a kubeadm patch that cannot
// apply) on each runtime. The error names the stage, the node, the command
// and kubeadm's own words, and the logs directory it names holds the node's
// logs. Without --retain nothing is left; with it the node stays until
// kinc delete cluster.
func TestE2ECreateFails(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			k := kincBinary(t)
			name := "e2e-" + rt[:3] + "-fail"
			kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
			run(t, time.Minute, k, "--provider", rt, "delete", "cluster", "--name", name)
			for _, retain := range []bool{false, true} {
				args := []string{"--provider", rt, "create", "cluster", "--name", name, "--kubeconfig", kubeconfig,
					"--config", "../../testdata/e2e/failing-patch.toml"}
				if retain {
					args = append(args, "--retain")
				}
				start := time.Now()
				out, err := run(t, 5*time.Minute, k, args...)
				t.Logf("kinc create cluster (retain=%v) failed after %.1fs:\n%s", retain, time.Since(start).Seconds(), out)
				if err == nil {
					t.Fatal("create succeeded")
				}
				node := name + "-control-plane"
				for _, want := range []string{"stage kubeadm", "node " + node, "kubeadm init", "not-kube-apiserver"} {
					if !strings.Contains(out, want) {
						t.Errorf("error lacks %q", want)
					}
				}
				// One failure is one error; the logs directory and what
				// was kept are plain lines after it.
				if n := strings.Count(out, "ERROR:"); n != 1 || strings.Contains(out, "errors occurred") {
					t.Errorf("one failure printed as %d errors (or \"errors occurred\")", n)
				}
				m := regexp.MustCompile(`(?m)^Logs of the failed cluster are in (\S+)$`).FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("no line names the logs directory")
				}
				checkLogs(t, m[1], []string{node})
				os.RemoveAll(m[1])
				if data, _ := os.ReadFile(kubeconfig); strings.Contains(string(data), "kinc-"+name) {
					t.Errorf("a failed create left context kinc-%s in the kubeconfig", name)
				}
				left := labelled(t, rt, name)
				if !retain {
					if left != "" {
						t.Errorf("a failed create left: %s", left)
					}
					continue
				}
				if !strings.Contains(left, "container "+node) || !strings.Contains(out, "kinc delete cluster "+name) {
					t.Errorf("--retain kept %q, want the node %s and a hint to delete it", left, node)
				}
				if out, err := run(t, 2*time.Minute, k, "--provider", rt, "delete", "cluster", "--name", name); err != nil {
					t.Errorf("delete the retained cluster: %v\n%s", err, out)
				}
				if left := labelled(t, rt, name); left != "" {
					t.Errorf("delete of the retained cluster left: %s", left)
				}
			}
		})
	}
}
