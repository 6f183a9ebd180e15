package gobuild

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/providers/run"
)

func TestCheckKubeTree(t *testing.T) {
	for _, tc := range []struct {
		name, goMod, wantErr string
	}{
		{"a checkout", "module k8s.io/kubernetes\n\ngo 1.24.0\n", ""},
		{"another module", "module example.com/app\n", "is not module k8s.io/kubernetes"},
		{"no go.mod", "", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.goMod != "" {
				if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte(tc.goMod), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := CheckKubeTree(root)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestKubeTreeVersion(t *testing.T) {
	for _, tc := range []struct {
		name, describe string
		fail           bool
		want, wantErr  string
	}{
		{"a release", "v1.34.4\n", false, "v1.34.4", ""},
		{"an alpha", "v1.36.0-alpha.1\n", false, "v1.36.0", ""},
		{"no tag", "", true, "", "give --kubernetes-version"},
		{"an odd tag", "release-1.34\n", false, "", "is no version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
				if tc.fail {
					return nil, errors.New("fatal: No names found")
				}
				return []byte(tc.describe), nil
			}}
			got, err := KubeTreeVersion(context.Background(), rec, "/src/kubernetes")
			if got != tc.want || tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got %q, %v; want %q, %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestKubeTreeBuildsEveryBinaryFromTheCheckout(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module k8s.io/kubernetes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &run.Recorder{}
	out := filepath.Join(t.TempDir(), "out")
	if err := KubeTree(context.Background(), rec, io.Discard, KubeTreeInput{Root: root, Version: "v1.34.4", OutDir: out}); err != nil {
		t.Fatal(err)
	}
	var build string
	for _, c := range rec.Calls() {
		if c.Do == nil {
			build = c.Line()
		}
	}
	for _, want := range []string{"go -C " + root + " build", "-o " + out + "/", "gitVersion=v1.34.4", "./cmd/kubelet", "./cmd/kube-proxy"} {
		if !strings.Contains(build, want) {
			t.Errorf("build line lacks %q: %s", want, build)
		}
	}
	if strings.Contains(build, "-mod=mod") {
		t.Errorf("the checkout's own go.mod/vendor must decide: %s", build)
	}
}
