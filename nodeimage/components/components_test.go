package components

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/nodeimage/oci"
	"github.com/kinc-dev/kinc/providers/run"
)

func TestParseImageList(t *testing.T) {
	out := `registry.k8s.io/kube-apiserver:v1.34.4
registry.k8s.io/kube-controller-manager:v1.34.4
registry.k8s.io/kube-scheduler:v1.34.4
registry.k8s.io/kube-proxy:v1.34.4
registry.k8s.io/coredns/coredns:v1.12.1
registry.k8s.io/pause:3.10.1
registry.k8s.io/etcd:3.6.5-0
`
	comps, err := ParseImageList(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Component{
		"registry.k8s.io/kube-apiserver:v1.34.4":  {Kind: "kube", Binary: "kube-apiserver", Version: "v1.34.4"},
		"registry.k8s.io/kube-proxy:v1.34.4":      {Kind: "kube", Binary: "kube-proxy", Version: "v1.34.4"},
		"registry.k8s.io/coredns/coredns:v1.12.1": {Kind: "coredns", Binary: "coredns", Version: "v1.12.1"},
		"registry.k8s.io/pause:3.10.1":            {Kind: "pause", Binary: "pause", Version: "3.10.1"},
		"registry.k8s.io/etcd:3.6.5-0":            {Kind: "etcd", Binary: "etcd", Version: "v3.6.5"},
	}
	if len(comps) != 7 {
		t.Fatalf("got %d components", len(comps))
	}
	for _, c := range comps {
		if w, ok := want[c.Image]; ok {
			w.Image = c.Image
			if c != w {
				t.Errorf("%s: got %+v want %+v", c.Image, c, w)
			}
		}
	}
	paths := map[string]string{"coredns": "/coredns", "pause": "/pause", "etcd": "/usr/local/bin/etcd", "kube-proxy": "/usr/local/bin/kube-proxy"}
	for _, c := range comps {
		if p, ok := paths[c.Binary]; ok && Path(c) != p {
			t.Errorf("%s at %s, want %s", c.Binary, Path(c), p)
		}
	}
	for _, bad := range []string{"", "registry.k8s.io/mystery:v1", "registry.k8s.io/etcd"} {
		if _, err := ParseImageList(bad); err == nil {
			t.Errorf("ParseImageList(%q) accepted", bad)
		}
	}
}

func TestBuildExtra(t *testing.T) {
	for _, tc := range []struct {
		etcdImage, etcd, etcdctl string
		// etcdctlModule is the go.mod line requiring etcdctl.
		etcdctlModule string
	}{
		{"registry.k8s.io/etcd:3.6.5-0", "go/etcd-v3.6.5/out/etcd", "go/etcd-v3.6.5/out/etcdctl", "go/etcd-v3.6.5/go.mod"},
		// 3.5's etcdctl needs an etcdutl the module proxy does not serve.
		{"registry.k8s.io/etcd:3.5.24-0", "go/etcd-v3.5.24/out/etcd", "go/etcdctl-v3.6.5/out/etcdctl", "go/etcdctl-v3.6.5/go.mod"},
	} {
		t.Run(tc.etcdImage, func(t *testing.T) {
			comps, err := ParseImageList("registry.k8s.io/kube-proxy:v1.34.4\nregistry.k8s.io/coredns/coredns:v1.12.1\nregistry.k8s.io/pause:3.10.1\n" + tc.etcdImage + "\n")
			if err != nil {
				t.Fatal(err)
			}
			cache, work := t.TempDir(), t.TempDir()
			rec := &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
				if i := slices.Index(c.Args, "-o"); i > 0 && slices.Contains(c.Args, "go") {
					_ = os.MkdirAll(filepath.Dir(c.Args[i+1]), 0o755)
					return nil, os.WriteFile(c.Args[i+1], nil, 0o755)
				}
				return nil, nil
			}}
			bins, err := BuildExtra(context.Background(), rec, ExtraInput{CacheDir: cache, Work: work, KubeSrc: "/src", Comps: comps})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"coredns": filepath.Join(cache, "go/coredns-v1.12.1/out/coredns"), "pause": filepath.Join(work, "pause"),
				"etcd": filepath.Join(cache, tc.etcd), "etcdctl": filepath.Join(cache, tc.etcdctl)}
			for k, v := range want {
				if bins[k] != v {
					t.Errorf("%s at %q, want %q", k, bins[k], v)
				}
			}
			if len(bins) != len(want) {
				t.Errorf("bins %v", bins)
			}
			mod, err := os.ReadFile(filepath.Join(cache, tc.etcdctlModule))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(mod), "go.etcd.io/etcd/etcdctl/v3 v3.6.5") {
				t.Errorf("%s does not require etcdctl v3.6.5:\n%s", tc.etcdctlModule, mod)
			}
			gcc := ""
			for _, l := range rec.Lines() {
				if strings.HasPrefix(l, "gcc") {
					gcc = l
				}
			}
			if gcc != "gcc -Os -Wall -Werror -static -s -DVERSION=3.10.1 -o "+filepath.Join(work, "pause")+" /src/build/pause/linux/pause.c" {
				t.Errorf("gcc line %q", gcc)
			}
		})
	}
}

func TestEtcdctlVersion(t *testing.T) {
	for server, want := range map[string]string{"v3.5.24": "v3.6.5", "v3.6.5": "v3.6.5", "v3.6.8": "v3.6.8", "v3.7.3": "v3.7.3", "v4.0.0": "v4.0.0", "weird": "weird"} {
		if got := EtcdctlVersion(server); got != want {
			t.Errorf("EtcdctlVersion(%s) = %s, want %s", server, got, want)
		}
	}
}

// fakeRootfs is a merged-/usr rootfs with iptables through update-alternatives.
func fakeRootfs(t *testing.T) string {
	root := t.TempDir()
	for p, data := range map[string]string{
		"usr/sbin/xtables-nft-multi":        "bin",
		"usr/lib/libxtables.so.12":          "lib",
		"etc/ssl/certs/ca-certificates.crt": "ca",
		"etc/protocols":                     "netbase",
		"usr/share/doc/iptables/copyright":  "doc",
	} {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"lib": "usr/lib", "usr/sbin/iptables-nft": "xtables-nft-multi",
		"etc/alternatives/iptables": "/usr/sbin/iptables-nft", "usr/sbin/iptables": "/etc/alternatives/iptables",
		"etc/alternatives/unrelated": "/usr/bin/nothing-here",
	} {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(root, link)), 0o755)
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func layerEntries(t *testing.T, p string) []string {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

func TestBaseLayer(t *testing.T) {
	root := fakeRootfs(t)
	rec := &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
		switch {
		case slices.Contains(c.Args, "-W"):
			return []byte("iptables\tinstall ok installed\t\t, libxtables12 | libxtables-old, netbase\n" +
				"libxtables12\tinstall ok installed\t\t, \n" + "netbase\tinstall ok installed\t\t, \n"), nil
		case slices.Contains(c.Args, "-L"):
			if got := strings.Join(c.Args[2:], " "); got != "-L iptables libxtables12 netbase" {
				t.Errorf("dpkg-query %s", got)
			}
			return []byte("/usr/sbin/iptables-nft\n/usr/sbin/xtables-nft-multi\n/usr/share/doc/iptables/copyright\n/lib/libxtables.so.12\n/etc/protocols\n"), nil
		}
		return nil, nil
	}}
	dst := filepath.Join(t.TempDir(), "base.tar")
	l, err := BaseLayer(context.Background(), rec, root, dst, []string{"iptables"})
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := oci.FileDiffID(dst); id != l.DiffID {
		t.Errorf("diff id %s, file has %s", l.DiffID, id)
	}
	names := layerEntries(t, dst)
	for _, want := range []string{"tmp/", "lib", "var/run", "etc/passwd", "usr/sbin/xtables-nft-multi", "usr/lib/libxtables.so.12",
		"etc/protocols", "etc/alternatives/iptables", "usr/sbin/iptables", "etc/ssl/certs/ca-certificates.crt"} {
		if !slices.Contains(names, want) {
			t.Errorf("layer lacks %s: %v", want, names)
		}
	}
	for _, unwanted := range []string{"usr/share/doc/iptables/copyright", "etc/alternatives/unrelated"} {
		if slices.Contains(names, unwanted) {
			t.Errorf("layer has %s", unwanted)
		}
	}
}

func TestBuildImages(t *testing.T) {
	work := t.TempDir()
	bin := filepath.Join(work, "bin")
	if err := os.WriteFile(bin, []byte("ELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	base := oci.Layer{Path: "/base.tar", DiffID: "sha256:base"}
	comps := []Component{{Image: "registry.k8s.io/pause:3.10.1", Kind: "pause", Binary: "pause"}}
	imgs, err := BuildImages(context.Background(), &run.Recorder{}, ImagesInput{Work: work, Base: base, Comps: comps,
		Bins:   map[string]string{"pause": bin},
		Addons: []Addon{{Name: "lb", Image: "kinc.local/lb:1", Binary: bin, Runtime: true}, {Name: "kincnet", Image: "kinc.local/kincnet:1", Binary: bin}}})
	if err != nil {
		t.Fatal(err)
	}
	var node, rt []string
	for _, i := range imgs.Node {
		node = append(node, i.Name)
	}
	for _, i := range imgs.Runtime {
		rt = append(rt, i.Name)
	}
	if strings.Join(node, " ") != "registry.k8s.io/pause:3.10.1 kinc.local/kincnet:1" || strings.Join(rt, " ") != "kinc.local/lb:1" {
		t.Errorf("node images %v, runtime images %v", node, rt)
	}
	pause := imgs.Node[0]
	if pause.Layers[0] != base || pause.Config.Entrypoint[0] != "/pause" || !slices.Equal(layerEntries(t, pause.Layers[1].Path), []string{"pause"}) {
		t.Errorf("pause image %+v", pause)
	}
	if _, err := BuildImages(context.Background(), &run.Recorder{}, ImagesInput{Work: work, Comps: comps}); err == nil {
		t.Error("a component without its binary accepted")
	}
}
