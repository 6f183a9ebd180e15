//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// kincRun runs kinc with env added and returns stdout, stderr and the exit code.
func kincRun(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(kincBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(6 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("kinc %s: timed out", strings.Join(args, " "))
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// kincOK runs kinc and fails the test unless it exits 0.
func kincOK(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, errOut, code := kincRun(t, env, args...)
	if code != 0 {
		t.Fatalf("kinc %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

type nodeJSON struct {
	Name, Role, State, IP, Image string
}

type clusterJSON struct {
	Name      string `json:"name"`
	Provider  string `json:"provider"`
	Nodes     int    `json:"nodes"`
	APIServer string `json:"apiServer"`
	Context   string `json:"context"`
	State     string `json:"state"`
}

func nodesOf(t *testing.T, rt, name string) []nodeJSON {
	t.Helper()
	var nodes []nodeJSON
	out := kincOK(t, nil, "get", "nodes", name, "-o", "json", "--provider", rt)
	if err := json.Unmarshal([]byte(out), &nodes); err != nil {
		t.Fatalf("get nodes -o json: %v\n%s", err, out)
	}
	return nodes
}

const foreignKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: {server: "https://other.example:443"}
users:
- name: other
  user: {token: abc}
contexts:
- name: other
  context: {cluster: other, user: other}
current-context: other
`

// TestE2EScriptable drives the CLI as scripts do, on each runtime:
//   - a cluster created one stage at a time: --until provision, then for
//     every later stage --from the previous one --until it (so every stage
//     also runs again on a cluster that already passed it), ending Ready;
//   - flags after the command and the cluster name as the argument;
//   - get clusters/nodes -o json (paused nodes after provision, running after
//     boot, the API server URL the kubeconfig uses);
//   - the kubeconfig picked as kubectl does from KUBECONFIG=missing:symlink:
//     written through the symlink, which stays one, the other context kept;
//   - every command with --dry-run changes nothing: containers, volumes,
//     networks, images, the kubeconfig, the image cache, the logs directory;
//   - kinc delete cluster OTHER, --name OTHER and KINC_CLUSTER_NAME=OTHER
//     delete OTHER and leave the running cluster untouched;
//   - delete removes the context from every file of KUBECONFIG.
func TestE2EScriptable(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) { scriptable(t, rt) })
	}
}

func scriptable(t *testing.T, rt string) {
	name, other, dry := "cli-"+rt[:3]+"-res", "cli-"+rt[:3]+"-oth", "cli-"+rt[:3]+"-dry"
	dir := t.TempDir()
	real, link, missing := filepath.Join(dir, "real-config"), filepath.Join(dir, "config"), filepath.Join(dir, "missing")
	os.WriteFile(real, []byte(foreignKubeconfig), 0o600)
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	env := []string{"KUBECONFIG=" + missing + string(filepath.ListSeparator) + link}
	for _, n := range []string{name, other, dry} {
		kincRun(t, env, "delete", "cluster", n, "--provider", rt) // leftovers of an interrupted run
	}
	t.Cleanup(func() {
		for _, n := range []string{name, other, dry} {
			kincRun(t, env, "delete", "cluster", n, "--provider", rt)
			if left := labelled(t, rt, n); left != "" {
				t.Errorf("left behind: %s", left)
			}
		}
	})
	config := "../../testdata/e2e/one-worker.toml"
	stages := []string{"provision", "configure", "boot", "kubeadm", "cni", "storage", "wait", "kubeconfig"}

	// Stage by stage, each stage after the first run twice.
	out := kincOK(t, env, "create", "cluster", name, "--config", config, "--until", "provision", "--provider", rt, "--wait", "3m")
	if want := "Continue with: kinc create cluster " + name + " --from configure --config " + config; !strings.Contains(out, want) {
		t.Errorf("--until output lacks %q:\n%s", want, out)
	}
	for _, n := range nodesOf(t, rt, name) {
		if n.State != "paused" || n.IP == "" || n.Image == "" || (n.Role != "control-plane" && n.Role != "worker") {
			t.Errorf("after provision: node %+v, want paused with an IP, image and role", n)
		}
	}
	for i := 1; i < len(stages); i++ {
		start := time.Now()
		out = kincOK(t, env, "create", "cluster", name, "--config", config, "--from", stages[i-1], "--until", stages[i], "--provider", rt, "--wait", "3m")
		t.Logf("--from %s --until %s: %.1fs\n%s", stages[i-1], stages[i], time.Since(start).Seconds(), out)
		if !strings.Contains(out, "Continuing cluster") || !strings.Contains(out, "✓ "+stages[i-1]) || !strings.Contains(out, "✓ "+stages[i]) {
			t.Errorf("--from %s --until %s did not run both stages:\n%s", stages[i-1], stages[i], out)
		}
		if stages[i] == "boot" {
			for _, n := range nodesOf(t, rt, name) {
				if n.State != "running" {
					t.Errorf("after boot: node %+v, want running", n)
				}
			}
		}
	}
	if !strings.Contains(out, `Cluster "`+name+`" created`) {
		t.Errorf("the last --until kubeconfig did not finish the cluster:\n%s", out)
	}

	// The kubeconfig: written through the symlink (the first existing
	// file of KUBECONFIG), which stays one; the other context is kept.
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s is no longer a symlink (%v)", link, err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("kinc wrote %s, the first KUBECONFIG entry, which did not exist", missing)
	}
	data, _ := os.ReadFile(real)
	if !strings.Contains(string(data), "name: kinc-"+name) || !strings.Contains(string(data), "other.example") {
		t.Errorf("kubeconfig lacks kinc-%s or lost the other context:\n%s", name, data)
	}
	kubectl := filepath.Join(dir, "kubectl")
	mustRun(t, time.Minute, rt, "cp", name+"-control-plane:/usr/bin/kubectl", kubectl)
	ready := mustRun(t, time.Minute, kubectl, "--kubeconfig", real, "--context", "kinc-"+name, "get", "nodes", "-o",
		`jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
	if strings.Count(ready, "True") != 2 {
		t.Errorf("the resumed cluster's nodes are not both Ready: %q", ready)
	}
	// The spec selects kube-proxy's nftables mode: services work, and
	// nothing for a cluster address leaks off the nodes in that mode either.
	c := &cluster{t: t, kinc: kincBinary(t), runtime: rt, name: name, kubeconfig: real, kubectl: kubectl}
	if mode := c.k("-n", "kube-system", "get", "configmap", "kube-proxy", "-o", "jsonpath={.data.config\\.conf}"); !regexp.MustCompile(`(?m)^mode: "?nftables"?$`).MatchString(mode) {
		t.Errorf("kube-proxy's configuration does not select nftables mode:\n%s", mode)
	}
	nodes := c.readyNodes(2)
	c.checkServices(nodes)
	c.checkNoLeak()
	c.checkDNS()

	// get clusters -o json names it with what scripts need.
	var clusters []clusterJSON
	out = kincOK(t, nil, "get", "clusters", "-o", "json", "--provider", rt)
	if err := json.Unmarshal([]byte(out), &clusters); err != nil {
		t.Fatalf("get clusters -o json: %v\n%s", err, out)
	}
	i := slices.IndexFunc(clusters, func(c clusterJSON) bool { return c.Name == name })
	if i < 0 {
		t.Fatalf("get clusters -o json lacks %s:\n%s", name, out)
	}
	if c := clusters[i]; c.Provider != rt || c.Nodes != 2 || c.Context != "kinc-"+name || c.State != "running" ||
		!strings.Contains(string(data), "server: "+c.APIServer) || c.APIServer == "" {
		t.Errorf("get clusters -o json: %+v (the kubeconfig's server must be apiServer)", c)
	}
	if out := kincOK(t, nil, "get", "clusters", "-o", "yaml", "--provider", rt); !strings.Contains(out, "name: "+name) {
		t.Errorf("get clusters -o yaml lacks %s:\n%s", name, out)
	}

	// Every command with --dry-run: nothing changes.
	cache, logs, exported := filepath.Join(dir, "cache"), filepath.Join(dir, "logs"), filepath.Join(dir, "exported")
	before := snapshot(t, rt, dir, name, other, dry)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"create", "cluster", dry, "--config", config, "--wait", "1m"},
			[]string{"network create", "run -d --name " + dry + "-worker ", "kubeadm init", "kubeadm join", "apply -f -", "would wait up to 1m0s", "would merge context kinc-" + dry}},
		{[]string{"create", "cluster", name, "--config", config, "--from", "cni"}, []string{"apply -f -", "would merge context kinc-" + name}},
		{[]string{"delete", "cluster", name}, []string{"rm ", "would remove context kinc-" + name + " from " + link}},
		{[]string{"delete", "clusters", name}, []string{"rm "}},
		{[]string{"export", "kubeconfig", name, "--kubeconfig", exported}, []string{"would set kubectl context"}},
		{[]string{"export", "logs", logs, "--name", name}, []string{"would export the logs"}},
		{[]string{"get", "nodes", name}, []string{name + "-control-plane", name + "-worker"}},
		{[]string{"get", "kubeconfig", name}, []string{"kinc-" + name}},
		{[]string{"build", "node-image", "--image", "cli-dry/node:never", "--provider", rt}, []string{"would run", "nothing written to " + cache}},
		{[]string{"doctor"}, []string{"inotify:"}},
		{[]string{"spec", "validate", config}, []string{"is valid"}},
	} {
		args := append(tc.args, "--dry-run", "--provider", rt)
		if tc.args[0] == "build" {
			args = append(tc.args, "--dry-run") // its own --provider
		}
		out, errOut, code := kincRun(t, append(env, "KINC_CACHE_DIR="+cache), args...)
		if code != 0 {
			t.Errorf("kinc %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("kinc %s: output lacks %q:\n%s", strings.Join(args, " "), w, out)
			}
		}
	}
	if after := snapshot(t, rt, dir, name, other, dry); after != before {
		t.Errorf("a dry run changed something:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// Deleting another cluster, however it is named, leaves this one be.
	mainBefore := snapshot(t, rt, dir, name)
	for _, del := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"delete", "cluster", other}},
		{nil, []string{"delete", "cluster", "--name", other}},
		{[]string{"KINC_CLUSTER_NAME=" + other}, []string{"delete", "cluster"}},
	} {
		kincOK(t, env, "create", "cluster", other, "--until", "provision", "--provider", rt)
		if labelled(t, rt, other) == "" {
			t.Fatalf("%s was not created", other)
		}
		out := kincOK(t, append(env, del.env...), append(del.args, "--provider", rt)...)
		if !strings.Contains(out, `Deleted cluster "`+other+`"`) {
			t.Errorf("%v %v: %s", del.env, del.args, out)
		}
		if left := labelled(t, rt, other); left != "" {
			t.Errorf("%v %v left %s", del.env, del.args, left)
		}
		if after := snapshot(t, rt, dir, name); after != mainBefore {
			t.Errorf("%v %v changed cluster %s:\nbefore:\n%s\nafter:\n%s", del.env, del.args, name, mainBefore, after)
		}
	}

	// Delete takes the context out of every file of KUBECONFIG.
	second := filepath.Join(dir, "second")
	os.WriteFile(second, data, 0o600)
	kincOK(t, []string{"KUBECONFIG=" + second + string(filepath.ListSeparator) + link}, "delete", "cluster", name, "--provider", rt)
	for _, f := range []string{second, real} {
		if data, _ := os.ReadFile(f); strings.Contains(string(data), "kinc-"+name) || !strings.Contains(string(data), "other.example") {
			t.Errorf("after delete %s holds kinc-%s or lost the other context:\n%s", f, name, data)
		}
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("delete replaced the symlink %s (%v)", link, err)
	}
}

// snapshot describes what a dry run must not change: the clusters'
// containers (IDs, states and start times), volumes and networks, the node and dry-run
// image names, and every file under dir with its content.
func snapshot(t *testing.T, rt, dir string, clusters ...string) string {
	t.Helper()
	var b strings.Builder
	for _, c := range clusters {
		b.WriteString(c + ": " + labelled(t, rt, c) + "\n")
		for _, id := range strings.Fields(mustRun(t, time.Minute, rt, "ps", "-a", "-q", "--no-trunc", "--filter", "label=io.kinc.cluster="+c)) {
			b.WriteString(mustRun(t, time.Minute, rt, "inspect", "--format", "{{.Id}} {{.Name}} {{.State.Status}} {{.State.StartedAt}}", id))
		}
	}
	if _, err := run(t, time.Minute, rt, "image", "inspect", "cli-dry/node:never"); err == nil {
		b.WriteString("image cli-dry/node:never exists\n")
	}
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if info.Name() == "kubectl" {
			return nil
		}
		b.WriteString(path + " " + info.Mode().String())
		if info.Mode().IsRegular() {
			data, _ := os.ReadFile(path)
			b.WriteString("\n" + string(data))
		}
		b.WriteString("\n")
		return nil
	})
	return b.String()
}

// TestE2EFlagsAnywhere: the global flags after the command, as kind and
// kubectl users type them, against the real runtimes.
func TestE2EFlagsAnywhere(t *testing.T) {
	out := kincOK(t, nil, "doctor", "--provider", "all")
	for _, want := range []string{"provider:        docker\n", "provider:        podman\n", "kinc can use:"} {
		if !strings.Contains(out, want) {
			t.Errorf("kinc doctor --provider all lacks %q:\n%s", want, out)
		}
	}
	for _, rt := range runtimes {
		out, errOut, code := kincRun(t, nil, "doctor", "--provider", rt, "-v")
		if code != 0 || !strings.Contains(out, "provider:        "+rt+" (selected by --provider") || !strings.Contains(errOut, "+ "+rt+" ") {
			t.Errorf("kinc doctor --provider %s -v: exit %d, want %s selected and its commands logged:\n%s%s", rt, code, rt, out, errOut)
		}
		out = kincOK(t, nil, "get", "clusters", "-o", "json", "--provider", rt)
		var clusters []clusterJSON
		if err := json.Unmarshal([]byte(out), &clusters); err != nil {
			t.Errorf("get clusters -o json --provider %s: %v\n%s", rt, err, out)
		}
		for _, c := range clusters {
			if c.Provider != rt {
				t.Errorf("get clusters --provider %s lists %+v", rt, c)
			}
		}
	}
	if out, errOut, code := kincRun(t, nil, "doctor", "--provider", "nosuch"); code != 2 || !strings.Contains(errOut, "nosuch") {
		t.Errorf("doctor --provider nosuch: exit %d, want 2 (bad usage) naming it:\n%s%s", code, out, errOut)
	}
}

// TestE2EWaitTimeoutNamesPods: a --wait too short for the cluster to be
// ready fails with the pods that are not ready and their state (read with
// the real kubectl of the node), as one error, and leaves nothing behind.
func TestE2EWaitTimeoutNamesPods(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			name := "cli-" + rt[:3] + "-wto"
			kincRun(t, nil, "delete", "cluster", name, "--provider", rt)
			kc := filepath.Join(t.TempDir(), "kubeconfig")
			out, errOut, code := kincRun(t, nil, "create", "cluster", name, "--wait", "1s", "--kubeconfig", kc, "--provider", rt)
			t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			for _, want := range []string{"ERROR: stage wait: timed out after 1s waiting for the cluster to be ready", "pods not ready:\n    kube-system/"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q", want)
				}
			}
			if n := strings.Count(errOut, "ERROR:"); n != 1 {
				t.Errorf("%d ERROR lines, want 1", n)
			}
			if m := regexp.MustCompile(`(?m)^Logs of the failed cluster are in (\S+)$`).FindStringSubmatch(errOut); m != nil {
				os.RemoveAll(m[1])
			} else {
				t.Error("no line names the logs directory")
			}
			if left := labelled(t, rt, name); left != "" {
				t.Errorf("left behind: %s", left)
			}
		})
	}
}
