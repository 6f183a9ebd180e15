//go:build e2e

// Real-runtime tests: they drive the docker and podman of this machine.
// Run them with `make e2e` (go test -tags e2e -run '^TestE2E' ./...). A
// runtime that cannot be reached fails the test; nothing is skipped.

package providers_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// labelTest marks every object a test run creates; its value is unique to
// the run, so cleanup never touches anything else.
const labelTest = "io.kinc.test"

// busyboxPath is Debian's busybox-static (`make prereqs` installs it).
const busyboxPath = "/bin/busybox"

// entrypoint keeps the test container alive, answers SIGUSR1 by writing a
// file and wakes at once on signals.
const entrypoint = `trap 'echo usr1 > /root/usr1' USR1; echo ready; while :; do sleep 1 & wait $!; done`

// TestE2ERuntime drives every runtime through the Runtime API for real:
// image import, network, volume, plain and node containers, exec with
// stdin, copy, write, list by label, signal, delete.
func TestE2ERuntime(t *testing.T) {
	rootfs := busyboxRootfs(t)
	for _, name := range providers.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testRuntime(t, name, rootfs)
		})
	}
}

func testRuntime(t *testing.T, name string, rootfs []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rt, err := providers.New(name, &run.Exec{Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Probe(ctx); err != nil {
		t.Fatalf("%s cannot be reached, so its e2e tests cannot run: %v", name, err)
	}
	host, err := rt.Detect(ctx)
	if err != nil {
		t.Fatalf("detect %s: %v", name, err)
	}
	t.Logf("detected: %+v", host)
	if len(host.Problems) > 0 {
		t.Fatalf("%s cannot run clusters here: %s", name, strings.Join(host.Problems, " "))
	}
	if host.Version == "" || (host.CgroupVersion != 1 && host.CgroupVersion != 2) {
		t.Fatalf("incomplete detection: %+v", host)
	}

	id := "kinc-e2e-" + name + "-" + randomHex(t)
	labels := map[string]string{labelTest: id}
	image := id + ":test"
	network, volume := id+"-net", id+"-vol"
	plain, node := id+"-plain", id+"-node"
	t.Cleanup(func() { cleanup(t, rt, labels, image) })

	// An image built here: nothing can be pulled.
	if err := rt.ImportImage(ctx, bytes.NewReader(rootfs), image,
		fmt.Sprintf(`ENTRYPOINT ["/bin/sh", "-c", %q]`, entrypoint)); err != nil {
		t.Fatalf("import image: %v", err)
	}
	if ok, err := rt.ImageExists(ctx, image); err != nil || !ok {
		t.Fatalf("image %s after import: exists=%v, %v", image, ok, err)
	}
	if err := rt.CreateNetwork(ctx, network, labels); err != nil {
		t.Fatalf("create network: %v", err)
	}
	if err := rt.CreateVolume(ctx, volume, labels); err != nil {
		t.Fatalf("create volume: %v", err)
	}

	if err := rt.RunContainer(ctx, host, providers.ContainerSpec{
		Name: plain, Hostname: "plain", Image: image, Network: network, Labels: labels,
		Mounts: []providers.Mount{{Volume: volume, ContainerPath: "/data"}},
		Env:    []string{"KINC_E2E=plain value"},
	}); err != nil {
		t.Fatalf("run container: %v", err)
	}
	waitRunning(ctx, t, rt, plain)

	t.Run("exec with stdin", func(t *testing.T) {
		if _, err := rt.Exec(ctx, plain, providers.ExecOptions{Stdin: strings.NewReader("from stdin\n")},
			"sh", "-c", "cat > /data/stdin.txt"); err != nil {
			t.Fatal(err)
		}
		assertOutput(ctx, t, rt, plain, "from stdin\n", "cat", "/data/stdin.txt")
		assertOutput(ctx, t, rt, plain, "plain value\n", "sh", "-c", `echo "$KINC_E2E"`)
		out, err := rt.Exec(ctx, plain, providers.ExecOptions{Env: []string{"EXTRA=x y"}}, "sh", "-c", `echo "$EXTRA"`)
		if err != nil || string(out) != "x y\n" {
			t.Errorf("exec with env: %q, %v", out, err)
		}
	})
	t.Run("copy in", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "copied.txt")
		if err := os.WriteFile(src, []byte("copied from the host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := rt.CopyTo(ctx, plain, src, "/root/copied.txt"); err != nil {
			t.Fatal(err)
		}
		assertOutput(ctx, t, rt, plain, "copied from the host\n", "cat", "/root/copied.txt")
	})
	t.Run("write file", func(t *testing.T) {
		data := []byte("key = \"value\"\n")
		if err := rt.WriteFile(ctx, plain, "/etc/kinc/new dir/written.conf", data, 0o640); err != nil {
			t.Fatal(err)
		}
		assertOutput(ctx, t, rt, plain, string(data), "cat", "/etc/kinc/new dir/written.conf")
		assertOutput(ctx, t, rt, plain, "640\n", "stat", "-c", "%a", "/etc/kinc/new dir/written.conf")
	})
	t.Run("signal", func(t *testing.T) {
		if err := rt.Signal(ctx, plain, "SIGUSR1"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			out, err := rt.Exec(ctx, plain, providers.ExecOptions{}, "cat", "/root/usr1")
			if err == nil && string(out) == "usr1\n" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("SIGUSR1 never reached the entrypoint: %q, %v", out, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	t.Run("logs", func(t *testing.T) {
		logs, err := rt.Logs(ctx, plain)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(logs), "ready") {
			t.Errorf("logs %q lack the entrypoint's \"ready\"", logs)
		}
	})

	// A node container: the options this host needs (on docker here: the
	// fallback for a missing CAP_SYS_RESOURCE; on podman: --privileged
	// with the host's ulimit ceilings) must really run.
	t.Run("node options", func(t *testing.T) {
		t.Logf("node options: %q", rt.NodeRunArgs(host))
		if err := rt.RunContainer(ctx, host, providers.ContainerSpec{
			Name: node, Hostname: "node", Image: image, Network: network, Labels: labels, Node: true,
		}); err != nil {
			t.Fatalf("run node container: %v", err)
		}
		waitRunning(ctx, t, rt, node)
		status, err := rt.Exec(ctx, node, providers.ExecOptions{}, "cat", "/proc/1/status")
		if err != nil {
			t.Fatal(err)
		}
		if capEff := field(string(status), "CapEff:"); capEff == "" || strings.Trim(capEff, "0") == "" {
			t.Errorf("node has no effective capabilities: %q", capEff)
		}
		// Every capability but the missing ones: CAP_SYS_ADMIN (21) and CAP_NET_ADMIN (12) at least.
		if eff, err := strconv.ParseUint(field(string(status), "CapEff:"), 16, 64); err != nil || eff&(1<<21) == 0 || eff&(1<<12) == 0 {
			t.Errorf("node lacks CAP_SYS_ADMIN or CAP_NET_ADMIN: CapEff %s (%v)", field(string(status), "CapEff:"), err)
		}
		assertOutput(ctx, t, rt, node, "ok\n", "sh", "-c", "test -c /dev/kmsg && echo ok")
		// Mounting works (systemd and the kubelet need it).
		assertOutput(ctx, t, rt, node, "ok\n", "sh", "-c", "mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && echo ok")
		// A private cgroup namespace.
		if hostNS, err := os.Readlink("/proc/self/ns/cgroup"); err == nil {
			out, err := rt.Exec(ctx, node, providers.ExecOptions{}, "readlink", "/proc/1/ns/cgroup")
			if err != nil || strings.TrimSpace(string(out)) == hostNS {
				t.Errorf("node cgroup namespace %q (%v) is the host's %q", out, err, hostNS)
			}
		}
		// /tmp and /run are tmpfs.
		assertOutput(ctx, t, rt, node, "2\n", "sh", "-c", "grep -cE ' /(tmp|run) tmpfs ' /proc/mounts")
		if host.NofileLimit > 0 {
			assertOutput(ctx, t, rt, node, fmt.Sprintf("%d\n", host.NofileLimit), "sh", "-c", "ulimit -Hn")
		}
		if host.NprocLimit > 0 {
			assertOutput(ctx, t, rt, node, fmt.Sprintf("%d\n", host.NprocLimit), "sh", "-c", "ulimit -Hu")
		}
		// The node reaches the plain container by name on the network.
		assertOutput(ctx, t, rt, node, "ok\n", "sh", "-c", "ping -c 1 -W 5 plain >/dev/null 2>&1 || ping -c 1 -W 5 "+plain+" >/dev/null && echo ok")
		ip, err := rt.ContainerIP(ctx, node, network)
		if err != nil || ip == "" {
			t.Errorf("node address on %s: %q, %v", network, ip, err)
		}
	})

	t.Run("list by label", func(t *testing.T) {
		cs, err := rt.ListContainers(ctx, labels)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
			if c.State != "running" || c.Labels[labelTest] != id {
				t.Errorf("container %+v: want running with %s=%s", c, labelTest, id)
			}
		}
		assertNames(t, "containers", names, plain, node)
		nets, err := rt.ListNetworks(ctx, labels)
		if err != nil {
			t.Fatal(err)
		}
		assertNames(t, "networks", nets, network)
		vols, err := rt.ListVolumes(ctx, labels)
		if err != nil {
			t.Fatal(err)
		}
		assertNames(t, "volumes", vols, volume)
	})

	t.Run("delete", func(t *testing.T) {
		if err := rt.DeleteContainers(ctx, plain, node); err != nil {
			t.Fatal(err)
		}
		if err := rt.DeleteNetworks(ctx, network); err != nil {
			t.Fatal(err)
		}
		if err := rt.DeleteVolumes(ctx, volume); err != nil {
			t.Fatal(err)
		}
		if err := rt.RemoveImages(ctx, image); err != nil {
			t.Fatal(err)
		}
		assertNothingLeft(ctx, t, rt, labels, image)
	})
}

// cleanup removes whatever this run left, by its unique label only.
func cleanup(t *testing.T, rt *providers.Runtime, labels map[string]string, image string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	if cs, err := rt.ListContainers(ctx, labels); err != nil {
		errs = append(errs, err)
	} else {
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
		}
		errs = append(errs, rt.DeleteContainers(ctx, names...))
	}
	if nets, err := rt.ListNetworks(ctx, labels); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, rt.DeleteNetworks(ctx, nets...))
	}
	if vols, err := rt.ListVolumes(ctx, labels); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, rt.DeleteVolumes(ctx, vols...))
	}
	if ok, _ := rt.ImageExists(ctx, image); ok {
		errs = append(errs, rt.RemoveImages(ctx, image))
	}
	if err := errors.Join(errs...); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	assertNothingLeft(ctx, t, rt, labels, image)
}

func assertNothingLeft(ctx context.Context, t *testing.T, rt *providers.Runtime, labels map[string]string, image string) {
	t.Helper()
	cs, err := rt.ListContainers(ctx, labels)
	if err != nil || len(cs) > 0 {
		t.Errorf("containers left: %+v, %v", cs, err)
	}
	nets, err := rt.ListNetworks(ctx, labels)
	if err != nil || len(nets) > 0 {
		t.Errorf("networks left: %q, %v", nets, err)
	}
	vols, err := rt.ListVolumes(ctx, labels)
	if err != nil || len(vols) > 0 {
		t.Errorf("volumes left: %q, %v", vols, err)
	}
	if ok, err := rt.ImageExists(ctx, image); err != nil || ok {
		t.Errorf("image %s left: %v, %v", image, ok, err)
	}
}

func waitRunning(ctx context.Context, t *testing.T, rt *providers.Runtime, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		state, err := rt.Inspect(ctx, name, "{{.State.Status}}")
		if err == nil && state == "running" {
			return
		}
		if time.Now().After(deadline) || state == "exited" {
			logs, _ := rt.Logs(ctx, name)
			t.Fatalf("container %s is %q (%v), not running; logs:\n%s", name, state, err, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func assertOutput(ctx context.Context, t *testing.T, rt *providers.Runtime, container, want string, args ...string) {
	t.Helper()
	out, err := rt.Exec(ctx, container, providers.ExecOptions{}, args...)
	if err != nil {
		t.Errorf("exec %q: %v", args, err)
		return
	}
	if string(out) != want {
		t.Errorf("exec %q: got %q, want %q", args, out, want)
	}
}

func assertNames(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s with the test label: got %q, want %q", what, got, want)
	}
}

func field(status, key string) string {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, key); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// busyboxRootfs is a tarred root file system holding a static busybox, its
// applets as symlinks and the directories runc needs.
func busyboxRootfs(t *testing.T) []byte {
	t.Helper()
	f, err := elf.Open(busyboxPath)
	if err != nil {
		t.Fatalf("the e2e image needs a static busybox at %s (apt-get install busybox-static, or make prereqs): %v", busyboxPath, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked: the e2e image needs busybox-static (apt-get install busybox-static)", busyboxPath)
		}
	}
	f.Close()
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		t.Fatalf("%s --list: %v", busyboxPath, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, d := range []string{"bin", "dev", "etc", "proc", "root", "run", "sys", "sys/fs", "sys/fs/cgroup", "tmp", "usr", "var"} {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode, ModTime: now}))
	}
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin)), ModTime: now}))
	_, err = tw.Write(bin)
	must(t, err)
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777, ModTime: now}))
	}
	for _, f := range []struct{ name, data string }{
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"},
		{"etc/group", "root:x:0:\n"},
	} {
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: now}))
		_, err = io.WriteString(tw, f.data)
		must(t, err)
	}
	must(t, tw.Close())
	return buf.Bytes()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(b))
}

// testLog sends the runner's command log to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
