package nodelayer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kinc-dev/kinc/providers/run"
)

func TestBuild(t *testing.T) {
	work := t.TempDir()
	stage := filepath.Join(work, "node")
	kube := filepath.Join(work, "kube")
	for _, f := range []string{"kube/kubeadm", "kube/kubelet", "kube/kubectl", "etcdctl", "rt/containerd", "rt/runc"} {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(work, f)), 0o755)
		if err := os.WriteFile(filepath.Join(work, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(stage, "var/lib/containerd"), 0o711); err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{
		"files/etc/containerd/config.toml":    {Data: []byte(`sandbox = "@PAUSE_IMAGE@"`)},
		"files/usr/local/bin/kinc-entrypoint": {Data: []byte("#!/bin/sh")},
	}
	var tarCmd run.Cmd
	rec := &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
		if c.Args[0] == "tar" {
			tarCmd = c
			return nil, os.WriteFile(c.Args[len(c.Args)-2], []byte("abc"), 0o644)
		}
		return nil, nil
	}}
	dst := filepath.Join(work, "node-layer.tar")
	l, err := Build(context.Background(), rec, Input{Stage: stage, Dst: dst, Files: files, KubeBin: kube, Etcdctl: filepath.Join(work, "etcdctl"),
		PauseImage: "registry.k8s.io/pause:3.10.1", Images: []string{"a:1", "b:2"},
		Runtime: map[string]string{"containerd": filepath.Join(work, "rt/containerd"), "runc": filepath.Join(work, "rt/runc")}, Version: "kubernetes=v1.34.4\n"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Path != dst || l.DiffID != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("layer %+v", l)
	}
	if !strings.HasSuffix(tarCmd.Line(), " -C "+stage+" -cf "+dst+" .") {
		t.Errorf("tar %s", tarCmd.Line())
	}
	tests := []struct {
		path string
		data string
		mode os.FileMode
	}{
		{"etc/containerd/config.toml", `sandbox = "registry.k8s.io/pause:3.10.1"`, 0o644},
		{"usr/local/bin/kinc-entrypoint", "#!/bin/sh", 0o755},
		{"usr/bin/kubelet", "kube/kubelet", 0o755},
		{"usr/local/bin/etcdctl", "etcdctl", 0o755},
		{"usr/local/bin/containerd", "rt/containerd", 0o755},
		{"usr/local/sbin/runc", "rt/runc", 0o755},
		{"etc/kinc/images", "a:1\nb:2\n", 0o644},
		{"etc/kinc/version", "kubernetes=v1.34.4\n", 0o644},
		{"var", "", os.ModeDir | 0o755},
		{"etc/cni/net.d", "", os.ModeDir | 0o755},
	}
	for _, tt := range tests {
		p := filepath.Join(stage, tt.path)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		if st.Mode()&(os.ModeDir|os.ModePerm) != tt.mode {
			t.Errorf("%s: mode %v, want %v", tt.path, st.Mode(), tt.mode)
		}
		if !st.IsDir() {
			if data, _ := os.ReadFile(p); string(data) != tt.data {
				t.Errorf("%s: %q, want %q", tt.path, data, tt.data)
			}
		}
	}
	if target, _ := os.Readlink(filepath.Join(stage, "etc/systemd/system/getty@tty1.service")); target != "/dev/null" {
		t.Errorf("getty@tty1.service not masked: -> %q", target)
	}
	for _, u := range []string{"containerd.service", "kubelet.service"} {
		if target, _ := os.Readlink(filepath.Join(stage, "etc/systemd/system/multi-user.target.wants", u)); target != "/lib/systemd/system/"+u {
			t.Errorf("%s link -> %q", u, target)
		}
	}
}
