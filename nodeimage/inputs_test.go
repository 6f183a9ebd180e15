package nodeimage

import (
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
		"arch":      func(in *Inputs) { in.Arch = "arm64" },
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
