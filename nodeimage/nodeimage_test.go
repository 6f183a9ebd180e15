package nodeimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestDigestCoversEveryInput(t *testing.T) {
	base := Inputs{KubernetesVersion: "v1.34.4", Packages: []string{"a", "b"}, Suite: "bookworm", Recipe: "r1",
		NodeFiles:  fstest.MapFS{"files/x": {Data: []byte("1")}},
		AddonFiles: fstest.MapFS{"addons/lb/main.go": {Data: []byte("package main")}}}
	d0 := base.Digest()
	if d0 != base.Digest() {
		t.Fatal("digest not stable")
	}
	reordered := base
	reordered.Packages = []string{"b", "a"}
	if reordered.Digest() != d0 {
		t.Error("package order changed the digest")
	}
	for name, mod := range map[string]func(*Inputs){
		"version":   func(in *Inputs) { in.KubernetesVersion = "v1.34.5" },
		"packages":  func(in *Inputs) { in.Packages = []string{"a", "b", "c"} },
		"suite":     func(in *Inputs) { in.Suite = "trixie" },
		"recipe":    func(in *Inputs) { in.Recipe = "r2" },
		"nodefile":  func(in *Inputs) { in.NodeFiles = fstest.MapFS{"files/x": {Data: []byte("2")}} },
		"addon":     func(in *Inputs) { in.AddonFiles = fstest.MapFS{"addons/lb/main.go": {Data: []byte("package main\n")}} },
		"kube-bins": func(in *Inputs) { in.KubeBinaries = map[string]string{"kubeadm": "abc"} },
	} {
		in := base
		mod(&in)
		if in.Digest() == d0 {
			t.Errorf("changing %s did not change the digest", name)
		}
	}
}

func TestDefaultImage(t *testing.T) {
	img := DefaultImage("v1.34.4")
	if !strings.HasPrefix(img, "kinc/node:v1.34.4-") || len(img) != len("kinc/node:v1.34.4-")+12 {
		t.Errorf("DefaultImage = %q", img)
	}
	if DefaultImage("v1.34.4") == DefaultImage("v1.33.0") {
		t.Error("versions share an image name")
	}
}

func TestAddonImage(t *testing.T) {
	fsys := fstest.MapFS{
		"addons/lb/main.go":          {Data: []byte("package main")},
		"addons/kincnet/main.go":     {Data: []byte("package main")},
		"addons/notes/README.md":     {Data: []byte("x")},
		"addons/BUILD.md":            {Data: []byte("x")},
		"addons/kincnet/cni_test.go": {Data: []byte("package main")},
	}
	if got := strings.Join(addonNames(fsys), ","); got != "kincnet,lb" {
		t.Errorf("addonNames = %s", got)
	}
	a := addonImage(fsys, "lb")
	if !strings.HasPrefix(a, "kinc.local/lb:") || len(a) != len("kinc.local/lb:")+12 {
		t.Errorf("addonImage = %q", a)
	}
	fsys["addons/lb/main.go"] = &fstest.MapFile{Data: []byte("package main // changed")}
	if addonImage(fsys, "lb") == a {
		t.Error("addon source change did not change its image")
	}
}

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
		if p, ok := paths[c.Binary]; ok && componentPath(c) != p {
			t.Errorf("%s at %s, want %s", c.Binary, componentPath(c), p)
		}
	}
	for _, bad := range []string{"", "registry.k8s.io/mystery:v1", "registry.k8s.io/etcd"} {
		if _, err := ParseImageList(bad); err == nil {
			t.Errorf("ParseImageList(%q) accepted", bad)
		}
	}
}

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

func TestWriteArchive(t *testing.T) {
	dir := t.TempDir()
	lw, err := NewLayerWriter(filepath.Join(dir, "l1.tar"))
	if err != nil {
		t.Fatal(err)
	}
	if err := lw.File("usr/local/bin/x", 0o755, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := lw.Dir("tmp", 0o1777); err != nil {
		t.Fatal(err)
	}
	base, err := lw.Close()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(base.Path)
	sum := sha256.Sum256(raw)
	if base.DiffID != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("diff id %s does not match the layer", base.DiffID)
	}
	// parents come first
	tr := tar.NewReader(bytes.NewReader(raw))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		names = append(names, h.Name)
	}
	if strings.Join(names, ",") != "usr/,usr/local/,usr/local/bin/,usr/local/bin/x,tmp/" {
		t.Errorf("layer entries %v", names)
	}
	imgs := []Image{
		{Name: "a:1", Config: ImageConfig{Entrypoint: []string{"/x"}}, Layers: []Layer{base}},
		{Name: "b:1", Layers: []Layer{base}},
	}
	for _, gz := range []bool{false, true} {
		var buf bytes.Buffer
		if err := WriteArchive(&buf, imgs, gz); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		tr := tar.NewReader(&buf)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(tr)
			files[h.Name] = b
		}
		var manifest []manifestEntry
		if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
			t.Fatal(err)
		}
		if len(manifest) != 2 || manifest[0].RepoTags[0] != "a:1" || manifest[1].Layers[0] != manifest[0].Layers[0] {
			t.Fatalf("manifest %+v", manifest)
		}
		layerFiles := 0
		for n := range files {
			if strings.HasSuffix(n, "/layer.tar") {
				layerFiles++
			}
		}
		if layerFiles != 1 {
			t.Errorf("shared layer written %d times", layerFiles)
		}
		var cfg imageConfigFile
		if err := json.Unmarshal(files[manifest[0].Config], &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.RootFS.DiffIDs[0] != base.DiffID || cfg.Config.Entrypoint[0] != "/x" || cfg.OS != "linux" {
			t.Errorf("config %+v", cfg)
		}
		cs := sha256.Sum256(files[manifest[0].Config])
		if manifest[0].Config != hex.EncodeToString(cs[:])+".json" {
			t.Error("config not content addressed")
		}
		if gz != bytes.HasPrefix(files[manifest[0].Layers[0]], []byte{0x1f, 0x8b}) {
			t.Errorf("gzip=%v but layer compression differs", gz)
		}
	}
}

func TestDebianMirrorFallback(t *testing.T) {
	if m := DebianMirror("no-such-suite"); m != "http://deb.debian.org/debian" {
		t.Errorf("fallback mirror %q", m)
	}
}
