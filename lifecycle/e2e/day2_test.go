//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// day2 drives a running 1+2 cluster (web pods and the PVC writer from
// checkWorkloads) through what users do after creating it: load their own
// images, stop and start it, survive a restart of the runtime itself, add
// and remove a worker; the workloads, the cross-node traffic and the PVC's
// data must be there after every step.
func (c *cluster) day2(nodes []string) {
	c.checkLoad(nodes)
	c.checkLoadErrors(nodes)
	token := c.writeToken(nodes)
	c.checkStopStart(nodes, token)
	c.checkRuntimeRestart(nodes, token)
	c.checkAddRemoveWorker(nodes)
}

const appImage = "myapp:dev"

// checkLoad: an image the user built is loaded into every node under the
// name typed (podman keeps it as localhost/myapp:dev), pods run it, and a
// second load skips every node.
func (c *cluster) checkLoad(nodes []string) {
	t := c.t
	buildImage(t, c.runtime, appImage, 0)
	if c.runtime == "podman" {
		// What makes this case: podman stores the short name under localhost/.
		mustRun(t, time.Minute, "podman", "image", "inspect", "--format", "{{.Id}}", "localhost/"+appImage)
	}
	out, err := c.kincCmd("load", "image", "--name", c.name, appImage)
	if err != nil || !strings.Contains(out, appImage+" loaded into 3 node(s)") {
		t.Fatalf("kinc load image %s: %v\n%s", appImage, err, out)
	}
	t.Logf("kinc load image:\n%s", out)
	out, err = c.kincCmd("load", "image", "--name", c.name, appImage)
	if err != nil || strings.Count(out, "already there") != 3 || strings.Contains(out, "loaded into") {
		t.Errorf("second kinc load image should skip all 3 nodes: %v\n%s", err, out)
	}
	// An archive: the image is only in the file, not in the runtime's store.
	buildImage(t, c.runtime, "myapp:archive", 0)
	name := strings.Trim(mustRun(t, time.Minute, c.runtime, "image", "inspect", "--format", "{{index .RepoTags 0}}", "myapp:archive"), "\n ")
	archive := filepath.Join(t.TempDir(), "myapp.tar")
	mustRun(t, time.Minute, c.runtime, "save", "-o", archive, "myapp:archive")
	mustRun(t, time.Minute, c.runtime, "rmi", "myapp:archive")
	if out, err := c.kincCmd("load", "archive", "--name", c.name, "--nodes", nodes[1], archive); err != nil || !strings.Contains(out, "loaded into 1 node(s)") {
		t.Fatalf("kinc load archive: %v\n%s", err, out)
	}
	// Pods use the image by the names given, never pulled. The web pods
	// of checkWorkloads make way for ones of the user's image.
	c.k("delete", "pod", "-l", "app=web", "--grace-period=1", "--wait=true")
	var manifests []string
	for i, n := range nodes {
		manifests = append(manifests, webPodOf(i, n, appImage))
	}
	manifests = append(manifests, strings.ReplaceAll(webPodOf(9, nodes[1], name), "web-9", "archive-9"))
	c.kApply(strings.Join(manifests, "---\n"))
	c.waitReady(180*time.Second, "pod", "-l", "app=web")
}

// checkLoadErrors: every bad input fails with a clear error, exit 1, and
// loads nothing.
func (c *cluster) checkLoadErrors(nodes []string) {
	t := c.t
	notArchive := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notArchive, []byte("these are notes, not an image\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"image not in the store", []string{"load", "image", "--name", c.name, "kinc.test/nope:missing"},
			"image kinc.test/nope:missing is not in " + c.runtime + "'s image store: build it (" + c.runtime + " build -t kinc.test/nope:missing .) or pull it"},
		{"missing cluster", []string{"load", "image", "--name", "e2e-no-such-cluster", appImage}, `"e2e-no-such-cluster" has no containers on ` + c.runtime},
		{"not an archive", []string{"load", "archive", "--name", c.name, notArchive}, notArchive + ": not an image archive"},
		{"unknown node", []string{"load", "image", "--name", c.name, "--nodes", c.name + "-worker9", appImage}, "has no node " + c.name + "-worker9"},
	}
	for _, tc := range cases {
		out, err := c.kincCmd(tc.args...)
		if exitCode(err) != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: kinc %s: exit %d, want 1 and %q in:\n%s", tc.name, strings.Join(tc.args, " "), exitCode(err), tc.want, out)
		}
	}

	// A stopped node: refused before anything is loaded, then started again.
	stopped := nodes[2]
	mustRun(t, 2*time.Minute, c.runtime, "stop", stopped)
	buildImage(t, c.runtime, "kinc.test/other:e2e", 0)
	out, err := c.kincCmd("load", "image", "--name", c.name, "kinc.test/other:e2e")
	if exitCode(err) != 1 || !strings.Contains(out, "node "+stopped+" is exited: start it first with: kinc start cluster --name "+c.name) {
		t.Errorf("load with %s stopped: exit %d:\n%s", stopped, exitCode(err), out)
	}
	if images := mustRun(t, time.Minute, c.runtime, "exec", nodes[0], "ctr", "-n", "k8s.io", "images", "ls", "-q"); strings.Contains(images, "kinc.test/other") {
		t.Errorf("a refused load still put the image into %s", nodes[0])
	}
	if out, err := c.kincCmd("start", "cluster", "--name", c.name, "--wait", "3m"); err != nil {
		t.Fatalf("kinc start cluster with one node stopped: %v\n%s", err, out)
	}

	// A full disk inside a node: that node's load fails and says why; the
	// others get the image. The node's content store (ingest and blobs, one
	// filesystem, as on the volume) is a 4 MiB tmpfs for the time of the load.
	buildImage(t, c.runtime, "kinc.test/big:e2e", 48<<20)
	content := "/var/lib/containerd/io.containerd.content.v1.content"
	mustRun(t, time.Minute, c.runtime, "exec", nodes[1], "sh", "-c", `mount -t tmpfs -o size=4m tmpfs "$1" && mkdir "$1/ingest" "$1/blobs"`, "sh", content)
	out, err = c.kincCmd("load", "image", "--name", c.name, "kinc.test/big:e2e")
	run(t, time.Minute, c.runtime, "exec", nodes[1], "umount", content)
	if exitCode(err) != 1 || !strings.Contains(out, "load kinc.test/big:e2e into "+nodes[1]) || !strings.Contains(out, "no space left on device") {
		t.Errorf("load with a full disk in %s: exit %d:\n%s", nodes[1], exitCode(err), out)
	}
	if images := mustRun(t, time.Minute, c.runtime, "exec", nodes[1], "ctr", "-n", "k8s.io", "images", "ls", "-q"); strings.Contains(images, "kinc.test/big") {
		t.Errorf("%s lists the image whose load failed:\n%s", nodes[1], images)
	}
	if images := mustRun(t, time.Minute, c.runtime, "exec", nodes[0], "ctr", "-n", "k8s.io", "images", "ls", "-q"); !strings.Contains(images, "kinc.test/big:e2e") {
		t.Errorf("%s lacks the image the other node could not take:\n%s", nodes[0], images)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// writeToken puts a random token on the PVC the writer pod holds.
func (c *cluster) writeToken(nodes []string) string {
	token := fmt.Sprintf("token-%d", time.Now().UnixNano())
	c.k("exec", "writer", "--", "sh", "-c", "echo "+token+" > /data/token")
	c.checkTraffic(nodes)
	return token
}

// checkRunningAgain: every node Ready, the pods that ran run again, traffic
// flows across nodes and the PVC still holds the token.
func (c *cluster) checkRunningAgain(nodes []string, token string) {
	t := c.t
	t.Helper()
	c.readyNodes(len(nodes))
	c.waitReady(180*time.Second, "pod", "-l", "app=web")
	c.waitReady(180*time.Second, "pod/writer")
	// Service traffic flows once kube-proxy has its rules again; until then
	// the node refuses service addresses at once (kincnet's guard).
	start := time.Now()
	for {
		_, err := run(t, time.Minute, c.kubectl, "--kubeconfig", c.kubeconfig, "--context", "kinc-"+c.name,
			"exec", "web-0", "--", "nslookup", "kubernetes.default.svc.cluster.local")
		if err == nil {
			break
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("no DNS through the kube-dns Service 2 minutes after the pods were Ready again: %v", err)
		}
		time.Sleep(time.Second)
	}
	t.Logf("service traffic (DNS) answered %.1fs after the pods were Ready again", time.Since(start).Seconds())
	c.checkTraffic(nodes)
	if got := strings.TrimSpace(c.k("exec", "writer", "--", "cat", "/data/token")); got != token {
		t.Errorf("PVC holds %q after the restart, want %q", got, token)
	}
}

func (c *cluster) checkStopStart(nodes []string, token string) {
	t := c.t
	start := time.Now()
	if out, err := c.kincCmd("stop", "cluster", "--name", c.name); err != nil {
		t.Fatalf("kinc stop cluster: %v\n%s", err, out)
	}
	t.Logf("kinc stop cluster took %.1fs", time.Since(start).Seconds())
	if running := mustRun(t, time.Minute, c.runtime, "ps", "-q", "--filter", "label=io.kinc.cluster="+c.name); strings.TrimSpace(running) != "" {
		t.Fatalf("containers still running after kinc stop cluster: %s", running)
	}
	start = time.Now()
	out, err := c.kincCmd("start", "cluster", "--name", c.name, "--wait", "3m")
	t.Logf("kinc start cluster --wait took %.1fs:\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("kinc start cluster: %v", err)
	}
	if !regexp.MustCompile(`all nodes Ready again at \d+\.\ds`).MatchString(out) {
		t.Errorf("kinc start cluster did not report when the nodes were Ready again")
	}
	c.checkRunningAgain(nodes, token)
}

// checkRuntimeRestart: the nodes come back by themselves when the runtime
// restarts. docker: dockerd stopped and started (it starts unless-stopped
// containers). podman has no daemon: at boot podman-restart.service starts
// the containers with restart policy always; the test stops the nodes as a
// shutdown does and runs that unit's own command.
func (c *cluster) checkRuntimeRestart(nodes []string, token string) {
	t := c.t
	since := time.Now().Truncate(time.Second)
	switch c.runtime {
	case "docker":
		restartDockerd(t)
	case "podman":
		mustRun(t, 2*time.Minute, "podman", append([]string{"stop", "--time", "30"}, nodes...)...)
		mustRun(t, 2*time.Minute, "sh", "-c", podmanRestartCommand(t))
	}
	c.waitFreshReady(nodes, since, 3*time.Minute)
	t.Logf("after the %s restart every node was Ready again in %.1fs", c.runtime, time.Since(since).Seconds())
	c.checkRunningAgain(nodes, token)
}

// podmanRestartCommand is the ExecStart line of podman's own
// podman-restart.service, which starts "always" containers at boot.
func podmanRestartCommand(t *testing.T) string {
	for _, unit := range []string{"/lib/systemd/system/podman-restart.service", "/usr/lib/systemd/system/podman-restart.service"} {
		data, err := os.ReadFile(unit)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(data), "\n") {
			if cmd, ok := strings.CutPrefix(l, "ExecStart="); ok {
				return strings.ReplaceAll(cmd, "$LOGGING", "")
			}
		}
	}
	t.Fatal("podman-restart.service not found: podman's package should ship it")
	return ""
}

// restartDockerd stops dockerd and starts it again the way it was started
// (systemd, else by hand with hack/prereqs.sh's log file).
func restartDockerd(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		mustRun(t, 3*time.Minute, "systemctl", "restart", "docker")
		return
	}
	pid := strings.Fields(mustRun(t, time.Minute, "pidof", "dockerd"))
	if len(pid) != 1 {
		t.Fatalf("want one dockerd, found pids %v", pid)
	}
	mustRun(t, time.Minute, "kill", "-TERM", pid[0])
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat("/proc/" + pid[0]); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockerd %s did not stop", pid[0])
		}
		time.Sleep(200 * time.Millisecond)
	}
	log, err := os.OpenFile("/var/log/dockerd.log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	d := exec.Command("dockerd")
	d.Stdout, d.Stderr = log, log
	d.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := d.Start(); err != nil {
		t.Fatalf("start dockerd again: %v", err)
	}
	d.Process.Release()
	for i := 0; ; i++ {
		if _, err := run(t, 10*time.Second, "docker", "info"); err == nil {
			return
		}
		if i > 60 {
			t.Fatal("dockerd does not answer after its restart")
		}
		time.Sleep(time.Second)
	}
}

// waitFreshReady waits until every node is Ready with a heartbeat at or
// after since (the API shows a stopped node's last status until then).
func (c *cluster) waitFreshReady(nodes []string, since time.Time, timeout time.Duration) {
	t := c.t
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, _ := runOut(t, 30*time.Second, c.kubectl, "--kubeconfig", c.kubeconfig, "--context", "kinc-"+c.name, "get", "nodes", "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}{"\n"}{end}`)
		fresh := 0
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) == 3 && f[1] == "True" {
				if hb, err := time.Parse(time.RFC3339, f[2]); err == nil && !hb.Before(since) {
					fresh++
				}
			}
		}
		if fresh == len(nodes) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes not Ready again within %s:\n%s", timeout, out)
		}
		time.Sleep(time.Second)
	}
}

// checkAddRemoveWorker: a new worker joins, runs pods and carries traffic;
// a control plane is refused without a load balancer; the worker is
// removed again, leaving the cluster healthy.
func (c *cluster) checkAddRemoveWorker(nodes []string) {
	t := c.t
	before := labelled(t, c.runtime, c.name)
	out, err := c.kincCmd("create", "node", "--name", c.name, "--role", "control-plane")
	if exitCode(err) != 1 || !strings.Contains(out, "has no load balancer") {
		t.Errorf("kinc create node --role control-plane on a cluster without a load balancer: exit %d:\n%s", exitCode(err), out)
	}
	if after := labelled(t, c.runtime, c.name); after != before {
		t.Errorf("a refused create node changed the cluster's objects:\n before %s\n after  %s", before, after)
	}
	start := time.Now()
	out, err = c.kincCmd("create", "node", "--name", c.name)
	t.Logf("kinc create node took %.1fs:\n%s", time.Since(start).Seconds(), out)
	newNode := c.name + "-worker3"
	if err != nil || !strings.Contains(out, "Node "+newNode+" joined") {
		t.Fatalf("kinc create node: %v", err)
	}
	all := append(append([]string{}, nodes...), newNode)
	c.readyNodes(4)
	if out, err := c.kincCmd("load", "image", "--name", c.name, appImage); err != nil || !strings.Contains(out, appImage+" loaded into 1 node(s)") {
		t.Errorf("load into the new node only: %v\n%s", err, out)
	}
	c.kApply(webPodOf(3, newNode, appImage))
	c.waitReady(180*time.Second, "pod/web-3")
	c.checkTraffic(all)

	start = time.Now()
	out, err = c.kincCmd("delete", "node", newNode)
	t.Logf("kinc delete node took %.1fs:\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("kinc delete node: %v", err)
	}
	c.readyNodes(3)
	if left := labelled(t, c.runtime, c.name); strings.Contains(left, newNode) {
		t.Errorf("left behind after delete node: %s", left)
	}
	c.k("delete", "pod", "web-3", "--ignore-not-found", "--wait=false")
	c.checkTraffic(nodes)
}
