//go:build e2e

package nodeimage_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kinc-dev/kinc/nodeimage"
	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

func runtimes(t *testing.T) []*providers.Runtime {
	var rts []*providers.Runtime
	for _, n := range []string{"docker", "podman"} {
		rt, err := providers.New(n, &run.Exec{})
		if err != nil {
			t.Fatal(err)
		}
		rts = append(rts, rt)
	}
	return rts
}

// TestE2ENodeImageBoots builds (or finds) the default node image in docker and
// podman, and boots a node from it on each: paused state, then after
// SIGUSR1 systemd running, containerd active and every image preloaded.
func TestE2ENodeImageBoots(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	rts := runtimes(t)
	res, err := nodeimage.Build(ctx, nodeimage.Options{Runtimes: rts, Runner: &run.Exec{}, Out: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range rts {
		rt := rt
		t.Run(rt.Name(), func(t *testing.T) { bootNode(ctx, t, rt, res.Image) })
	}
}

func bootNode(ctx context.Context, t *testing.T, rt *providers.Runtime, image string) {
	name := fmt.Sprintf("kinc-e2e-nodeimage-%s-%d", rt.Name(), os.Getpid())
	labels := map[string]string{providers.LabelCluster: name}
	if err := rt.CreateVolume(ctx, name, labels); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if t.Failed() {
			logs, _ := rt.Logs(c, name)
			t.Logf("%s logs:\n%s", name, logs)
		}
		rt.DeleteContainers(c, name)
		rt.DeleteVolumes(c, name)
	})
	host, err := rt.Detect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = rt.RunContainer(ctx, host, providers.ContainerSpec{Name: name, Hostname: name, Image: image, Labels: labels, Node: true,
		Mounts: []providers.Mount{{Volume: name, ContainerPath: contract.ContainerdDir}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s run (volume copy-up of %s included): %s", rt.Name(), contract.ContainerdDir, time.Since(start))
	exec := func(args ...string) (string, error) {
		out, err := rt.Exec(ctx, name, providers.ExecOptions{}, args...)
		return strings.TrimSpace(string(out)), err
	}
	waitFor := func(what string, timeout time.Duration, ok func() bool) {
		deadline := time.Now().Add(timeout)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: timed out after %s waiting for %s", rt.Name(), timeout, what)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	waitFor("paused state", time.Minute, func() bool {
		s, _ := exec("cat", contract.StateFile)
		return s == contract.StatePaused
	})
	logs, _ := rt.Logs(ctx, name)
	if !strings.Contains(string(logs), contract.PausedLogLine) {
		t.Errorf("logs lack %q: %s", contract.PausedLogLine, logs)
	}
	for bin, want := range map[string]string{"kubeadm": "v1.34.4", "kubelet": "Kubernetes v1.34.4"} {
		args := []string{bin, "--version"}
		if bin == "kubeadm" {
			args = []string{bin, "version", "-o", "short"}
		}
		if got, err := exec(args...); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", strings.Join(args, " "), got, err, want)
		}
	}
	if err := rt.Signal(ctx, name, contract.BootSignal); err != nil {
		t.Fatal(err)
	}
	var state string
	waitFor("systemctl is-system-running = running", 3*time.Minute, func() bool {
		state, _ = exec("systemctl", "is-system-running")
		return state == "running"
	})
	if s, err := exec("systemctl", "is-active", "containerd"); s != "active" {
		t.Fatalf("containerd %s %v", s, err)
	}
	want, err := exec("cat", "/etc/kinc/images")
	if err != nil {
		t.Fatal(err)
	}
	var have string
	waitFor("containerd listing images", time.Minute, func() bool {
		have, err = exec("ctr", "-n", contract.ContainerdNamespace, "images", "ls", "-q")
		return err == nil
	})
	for _, img := range strings.Fields(want) {
		if !strings.Contains("\n"+have+"\n", "\n"+img+"\n") {
			t.Errorf("%s: image %s not in the node's containerd store:\n%s", rt.Name(), img, have)
		}
	}
	for _, c := range []string{"etcd", "kube-apiserver", "pause", "coredns"} {
		if !strings.Contains(want, c) {
			t.Errorf("/etc/kinc/images lacks %s", c)
		}
	}
}
