package nodeimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

const kubeadmImages = `registry.k8s.io/kube-apiserver:v1.34.4
registry.k8s.io/kube-controller-manager:v1.34.4
registry.k8s.io/kube-scheduler:v1.34.4
registry.k8s.io/kube-proxy:v1.34.4
registry.k8s.io/coredns/coredns:v1.12.1
registry.k8s.io/pause:3.10.1
registry.k8s.io/etcd:3.6.5-0
`

// fakeHost answers every command of a build the way the real programs
// leave files, so that the whole step list runs on a Recorder. failOn, when
// set, makes the commands whose line contains it fail.
func fakeHost(t *testing.T, failOn string) (*run.Recorder, string) {
	tmp := t.TempDir()
	bin, src := filepath.Join(tmp, "bin"), filepath.Join(tmp, "src")
	for _, d := range []string{bin, src} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// debootstrap is looked up on PATH; nothing else runs for real.
	if err := os.WriteFile(filepath.Join(bin, "debootstrap"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	gomod := filepath.Join(src, "go.mod")
	if err := os.WriteFile(gomod, []byte("module k8s.io/kubernetes\n\ngo 1.24.0\n\nreplace k8s.io/api => ./staging/src/k8s.io/api\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(p string) error {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(filepath.Base(p)), 0o755)
	}
	var nodeImages []string
	return &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
		line := c.Line()
		if failOn != "" && strings.Contains(line, failOn) {
			return nil, &run.Error{Line: line, ExitCode: 1, Err: errors.New("exit status 1")}
		}
		arg := func(flag string) string { return c.Args[slices.Index(c.Args, flag)+1] }
		switch {
		case c.Args[0] == "debootstrap":
			return nil, write(filepath.Join(c.Args[len(c.Args)-2], "etc/ssl/certs/ca-certificates.crt"))
		case c.Args[0] == "tar", c.Args[0] == "gcc":
			return nil, write(arg(map[string]string{"tar": "-cf", "gcc": "-o"}[c.Args[0]]))
		case slices.Contains(c.Args, "GOCACHE"):
			return []byte(filepath.Join(tmp, "gocache") + "\n" + filepath.Join(tmp, "gomod") + "\n"), nil
		case slices.Contains(c.Args, "download"):
			return []byte(fmt.Sprintf(`{"Dir": %q, "GoMod": %q}`, src, gomod)), nil
		case slices.Contains(c.Args, "build"):
			if o := arg("-o"); strings.HasSuffix(o, "/") {
				for _, b := range strings.Fields("kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy") {
					if err := write(filepath.Join(o, b)); err != nil {
						return nil, err
					}
				}
				return nil, nil
			}
			return nil, write(arg("-o"))
		case strings.HasSuffix(c.Args[0], "kubeadm"):
			return []byte(kubeadmImages), nil
		case c.Args[0] == "dpkg-query" && slices.Contains(c.Args, "-W"):
			var db strings.Builder
			for _, p := range ComponentBasePackages() {
				fmt.Fprintf(&db, "%s\tinstall ok installed\t\t, libc6\n", p)
			}
			db.WriteString("libc6\tinstall ok installed\t\t\n")
			return []byte(db.String()), nil
		case filepath.Base(c.Args[0]) == "ctr" && slices.Contains(c.Args, "import"):
			nodeImages = nil
			for _, n := range strings.Fields(kubeadmImages) {
				nodeImages = append(nodeImages, n)
			}
			for _, a := range AddonNames() {
				nodeImages = append(nodeImages, AddonImage(a))
			}
		case filepath.Base(c.Args[0]) == "ctr" && slices.Contains(c.Args, "images"):
			return []byte(strings.Join(nodeImages, "\n")), nil
		case filepath.Base(c.Args[0]) == "ctr" && slices.Contains(c.Args, "content"):
			return []byte("sha256:abc 1 1s containerd.io/uncompressed=sha256:def\n"), nil
		case c.Args[0] == "docker" && slices.Contains(c.Args, "inspect"):
			return nil, &run.Error{Line: line, ExitCode: 1, Err: errors.New("no such image")}
		case c.Args[0] == "docker" && slices.Contains(c.Args, "info"):
			return []byte(tmp + "\n"), nil
		}
		return nil, nil
	}}, tmp
}

// TestBuildSteps runs the whole step list on a Recorder: every step in
// order, the images named, the work directory gone, the final names given.
func TestBuildSteps(t *testing.T) {
	rec, tmp := fakeHost(t, "")
	rt, err := providers.New("docker", rec)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cache := filepath.Join(tmp, "cache")
	res, err := Build(context.Background(), Options{Runtimes: []*providers.Runtime{rt}, Runner: rec, CacheDir: cache, Out: &out, Image: "kinc-test/node:1"})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	names := StepNames()
	for i, n := range names {
		if n == "load into the runtimes" {
			n = "load into docker"
		}
		if want := fmt.Sprintf("[%d/%d] %s: done in", i+1, len(names), n); !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if len(res.NodeImages) != 7+len(AddonNames())-1 || res.CacheHit {
		t.Errorf("result %+v", res)
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "build-*")); len(m) != 0 {
		t.Errorf("work directory left: %v", m)
	}
	lines := strings.Join(rec.Lines(), "\n")
	for _, want := range []string{"debootstrap --variant=minbase --arch=", "docker load --input ", "docker tag kinc-test/node:kinc-building-",
		"write-archive " + cache + "/build-", "ctr --address "} {
		if !strings.Contains(lines, want) {
			t.Errorf("no command %q among:\n%s", want, lines)
		}
	}
}

// TestBuildFailureCleansUp: a failed step names itself and leaves no
// temporary tag and no work directory.
func TestBuildFailureCleansUp(t *testing.T) {
	rec, tmp := fakeHost(t, "docker tag")
	rt, err := providers.New("docker", rec)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(tmp, "cache")
	_, err = Build(context.Background(), Options{Runtimes: []*providers.Runtime{rt}, Runner: rec, CacheDir: cache, Image: "kinc-test/node:1"})
	n := len(StepNames())
	if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("step %d/%d tag: ", n, n)) {
		t.Fatalf("error %v", err)
	}
	if lines := rec.Lines(); !strings.HasPrefix(lines[len(lines)-2], "docker rmi -f kinc-test/node:kinc-building-") {
		t.Errorf("temporary tags not removed: %v", lines[len(lines)-3:])
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "build-*")); len(m) != 0 {
		t.Errorf("work directory left: %v", m)
	}
}
