package ctrstore

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/nodeimage/oci"
	"github.com/kinc-dev/kinc/providers/run"
)

func TestImport(t *testing.T) {
	const blob = "0123abcd"
	tests := []struct {
		name    string
		listed  string
		content string
		err     string
	}{
		{"imported and discarded", "docker.io/kinc/x:1\nregistry.k8s.io/pause:3.10.1\n",
			"DIGEST SIZE AGE LABELS\nsha256:" + blob + " 10 1s containerd.io/uncompressed=sha256:ff\nsha256:cfg 1 1s containerd.io/gc.ref=x\n", ""},
		{"image missing", "registry.k8s.io/pause:3.10.1\n", "", "image kinc/x:1 missing"},
		{"nothing to discard", "docker.io/kinc/x:1\nregistry.k8s.io/pause:3.10.1\n", "DIGEST SIZE AGE LABELS\n", "no compressed layer blobs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			root := filepath.Join(work, "var/lib/containerd")
			blobFile := filepath.Join(root, "io.containerd.content.v1.content/blobs/sha256", blob)
			layer := filepath.Join(work, "l.tar")
			if err := os.WriteFile(layer, []byte("tar"), 0o644); err != nil {
				t.Fatal(err)
			}
			var cfg string
			rec := &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
				switch {
				case c.Args[0] == "containerd":
					data, _ := os.ReadFile(c.Args[2])
					cfg = string(data)
				case slices.Contains(c.Args, "import"):
					_ = os.MkdirAll(filepath.Dir(blobFile), 0o755)
					return nil, os.WriteFile(blobFile, nil, 0o644)
				case slices.Contains(c.Args, "ls") && slices.Contains(c.Args, "images"):
					return []byte(tt.listed), nil
				case slices.Contains(c.Args, "ls"):
					return []byte(tt.content), nil
				}
				return nil, nil
			}}
			imgs := []oci.Image{{Name: "kinc/x:1", Layers: []oci.Layer{{Path: layer, DiffID: "sha256:1"}}}, {Name: "registry.k8s.io/pause:3.10.1"}}
			err := Import(context.Background(), rec, Input{Root: root, Work: work, Namespace: "k8s.io", Platform: oci.PlatformOf("amd64"), Images: imgs,
				Containerd: "containerd", Ctr: "ctr"})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(cfg, "root = \""+root+"\"") || !strings.Contains(cfg, "io.containerd.grpc.v1.cri") || !strings.HasPrefix(cfg, "version = 3\n") {
				t.Errorf("daemon config:\n%s", cfg)
			}
			if _, err := os.Stat(blobFile); !os.IsNotExist(err) {
				t.Errorf("compressed blob kept: %v", err)
			}
			if _, err := os.Stat(filepath.Join(work, "node-images.tar")); !os.IsNotExist(err) {
				t.Errorf("archive kept: %v", err)
			}
			var rm string
			for _, l := range rec.Lines() {
				if strings.Contains(l, "content rm") {
					rm = l
				}
			}
			if !strings.HasSuffix(rm, "-n k8s.io content rm sha256:"+blob) {
				t.Errorf("content rm line %q", rm)
			}
		})
	}
}
