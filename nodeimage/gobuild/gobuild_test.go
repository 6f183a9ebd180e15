package gobuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/providers/run"
)

func TestKubeModule(t *testing.T) {
	gomod := "module k8s.io/kubernetes\n\ngo 1.24.0\n\nreplace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n\tk8s.io/client-go => ./staging/src/k8s.io/client-go\n)\n"
	m, err := kubeModule([]byte(gomod), "v1.34.4")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"go 1.24.0", "require k8s.io/kubernetes v1.34.4", "k8s.io/api => k8s.io/api v0.34.4", "k8s.io/client-go => k8s.io/client-go v0.34.4"} {
		if !strings.Contains(m, want) {
			t.Errorf("module lacks %q:\n%s", want, m)
		}
	}
	if _, err := kubeModule([]byte(gomod), "1.34"); err == nil {
		t.Error("bad version accepted")
	}
	if !strings.Contains(kubeLdflags("v1.34.4"), "-X k8s.io/component-base/version.gitVersion=v1.34.4") {
		t.Error("ldflags lack the version stamp")
	}
}

func TestParseVersion(t *testing.T) {
	for v, ok := range map[string]bool{"v1.34.4": true, "v1.100.0": true, "1.34.4": false, "v1.34": false, "v1.34.4-rc.1": false} {
		if _, _, _, got := ParseVersion(v); got != ok {
			t.Errorf("ParseVersion(%s) ok = %v", v, got)
		}
	}
}

func TestDownloadErrors(t *testing.T) {
	tests := []struct {
		name string
		out  string
		err  error
		want string
	}{
		{"unknown version", `{"Error": "k8s.io/kubernetes@v1.34.99: reading https://proxy/k8s.io/kubernetes/@v/v1.34.99.info: 404 Not Found"}`,
			errors.New("exit status 1"), "k8s.io/kubernetes@v1.34.99 does not exist"},
		{"proxy down", "", errors.New("dial tcp 127.0.0.1:9: connect: connection refused"), "the Go module proxy cannot be reached (GOPROXY=http://127.0.0.1:9)"},
		{"no directory", `{"Path": "k8s.io/kubernetes"}`, nil, "returned no directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
				if slices.Contains(c.Args, "GOPROXY") {
					return []byte("http://127.0.0.1:9\n"), nil
				}
				return []byte(tt.out), tt.err
			}}
			_, err := Download(context.Background(), rec, t.TempDir(), "k8s.io/kubernetes@v1.34.99")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
			if unknown := tt.name == "unknown version"; errors.Is(err, ErrNoSuchVersion) != unknown {
				t.Errorf("errors.Is(%v, ErrNoSuchVersion) = %v, want %v", err, !unknown, unknown)
			}
		})
	}
}

// fakeGo answers go mod download with a module whose go.mod has staging
// replaces, and go build by writing the -o outputs.
func fakeGo(t *testing.T, src string) *run.Recorder {
	gomod := filepath.Join(src, "go.mod")
	if err := os.WriteFile(gomod, []byte("module k8s.io/kubernetes\n\ngo 1.24.0\n\nreplace k8s.io/api => ./staging/src/k8s.io/api\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
		switch {
		case slices.Contains(c.Args, "download"):
			return []byte(fmt.Sprintf(`{"Dir": %q, "GoMod": %q}`, src, gomod)), nil
		case slices.Contains(c.Args, "build"):
			o := c.Args[slices.Index(c.Args, "-o")+1]
			if strings.HasSuffix(o, "/") {
				for _, b := range KubeBinaries() {
					_ = os.MkdirAll(o, 0o755)
					_ = os.WriteFile(filepath.Join(o, b), nil, 0o755)
				}
				return nil, nil
			}
			_ = os.MkdirAll(filepath.Dir(o), 0o755)
			return nil, os.WriteFile(o, nil, 0o755)
		}
		return nil, nil
	}}
}

func builds(rec *run.Recorder) int {
	n := 0
	for _, c := range rec.Calls() {
		if slices.Contains(c.Args, "build") {
			n++
		}
	}
	return n
}

func TestKubernetes(t *testing.T) {
	cache, src := t.TempDir(), t.TempDir()
	tests := []struct {
		name   string
		in     KubeInput
		builds int
		bin    string
	}{
		{"cold", KubeInput{CacheDir: cache, Version: "v1.34.4"}, 1, filepath.Join(cache, "go/kubernetes-v1.34.4/out")},
		{"cached", KubeInput{CacheDir: cache, Version: "v1.34.4"}, 0, filepath.Join(cache, "go/kubernetes-v1.34.4/out")},
		{"forced", KubeInput{CacheDir: cache, Version: "v1.34.4", Force: true}, 1, filepath.Join(cache, "go/kubernetes-v1.34.4/out")},
		{"prebuilt", KubeInput{CacheDir: cache, Version: "v1.34.4", BinDir: "/bins"}, 0, "/bins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := fakeGo(t, src)
			k, err := Kubernetes(context.Background(), rec, io.Discard, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if k.BinDir != tt.bin || k.SrcDir != src || builds(rec) != tt.builds {
				t.Errorf("got %+v with %d builds, want %s and %d builds:\n%s", k, builds(rec), tt.bin, tt.builds, strings.Join(rec.Lines(), "\n"))
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(cache, "go/kubernetes-v1.34.4/go.mod")); err != nil || !strings.Contains(string(b), "k8s.io/api => k8s.io/api v0.34.4") {
		t.Errorf("generated go.mod %q %v", b, err)
	}
}

func TestPrograms(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etcd")
	progs := map[string]string{"etcdctl": "go.etcd.io/etcd/etcdctl/v3", "etcd": "go.etcd.io/etcd/server/v3"}
	rec := fakeGo(t, t.TempDir())
	bins, err := Programs(context.Background(), rec, dir, "module x\n", progs, false)
	if err != nil || len(bins) != 2 || bins["etcd"] != filepath.Join(dir, "out/etcd") {
		t.Fatalf("Programs = %v %v", bins, err)
	}
	var order []string
	for _, c := range rec.Calls() {
		if slices.Contains(c.Args, "build") {
			order = append(order, c.Args[len(c.Args)-1])
		}
	}
	if strings.Join(order, " ") != "go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3" {
		t.Errorf("build order %v (want sorted by binary)", order)
	}
	again := fakeGo(t, t.TempDir())
	if _, err := Programs(context.Background(), again, dir, "module x\n", progs, false); err != nil || builds(again) != 0 {
		t.Errorf("cached: %d builds, %v", builds(again), err)
	}
}
