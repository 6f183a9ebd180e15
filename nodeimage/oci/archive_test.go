package oci

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
	tests := []struct {
		goarch string
		gz     bool
		want   Platform
	}{
		{"amd64", false, Platform{Architecture: "amd64"}},
		{"arm64", true, Platform{Architecture: "arm64"}},
		{"arm", false, Platform{Architecture: "arm", Variant: "v7"}},
	}
	for _, tt := range tests {
		gz := tt.gz
		var buf bytes.Buffer
		if err := WriteArchive(&buf, PlatformOf(tt.goarch), imgs, gz); err != nil {
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
		if cfg.RootFS.DiffIDs[0] != base.DiffID || cfg.Config.Entrypoint[0] != "/x" || cfg.OS != "linux" ||
			cfg.Architecture != tt.want.Architecture || cfg.Variant != tt.want.Variant {
			t.Errorf("%s: config %+v", tt.goarch, cfg)
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

func TestFileDiffID(t *testing.T) {
	p := filepath.Join(t.TempDir(), "l.tar")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	id, err := FileDiffID(p)
	if err != nil || id != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("FileDiffID = %s %v", id, err)
	}
	if _, err := FileDiffID(p + ".missing"); err == nil {
		t.Error("missing file accepted")
	}
}

// TestLayerCopyFrom: files copied from a rootfs keep their mode, links and
// ownership; the tar carries no names, times or duplicates.
func TestLayerCopyFrom(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/bin/tool"), []byte("x"), 0o4755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "usr/bin/tool"), os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/bin", filepath.Join(root, "bin")); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "l.tar")
	lw, err := NewLayerWriter(dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"bin", "usr/bin/tool", "/usr/bin/tool"} {
		if err := lw.CopyFrom(root, n); err != nil {
			t.Fatal(err)
		}
	}
	if !lw.Has("/usr/bin/tool") || lw.Has("usr/sbin") {
		t.Error("Has does not match what was written")
	}
	if _, err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(dst)
	defer f.Close()
	tr := tar.NewReader(f)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uname != "" || !h.ModTime.Equal(epoch()) {
			t.Errorf("%s: uname %q, mtime %v", h.Name, h.Uname, h.ModTime)
		}
		got = append(got, fmt.Sprintf("%s %o %s", h.Name, h.Mode, h.Linkname))
	}
	if want := "bin 777 usr/bin,usr/ 755 ,usr/bin/ 755 ,usr/bin/tool 4755 "; strings.Join(got, ",") != want {
		t.Errorf("entries %q, want %q", strings.Join(got, ","), want)
	}
}
