// Package oci writes image layers and image archives in `docker save`
// format, which docker load, podman load and ctr images import all accept,
// so that kinc needs no registry and no image build tool.
package oci

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// epoch is the modification time of every file kinc writes into a layer, so
// that layers are reproducible.
func epoch() time.Time { return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) }

// Layer is an uncompressed layer tar on disk and its diff ID.
type Layer struct {
	Path   string
	DiffID string // "sha256:<hex>" of the uncompressed tar
}

// ImageConfig is the runtime part of an image configuration.
type ImageConfig struct {
	Entrypoint []string          `json:"Entrypoint,omitempty"`
	Cmd        []string          `json:"Cmd,omitempty"`
	Env        []string          `json:"Env,omitempty"`
	WorkingDir string            `json:"WorkingDir,omitempty"`
	User       string            `json:"User,omitempty"`
	StopSignal string            `json:"StopSignal,omitempty"`
	Labels     map[string]string `json:"Labels,omitempty"`
}

// Image is one image of an archive.
type Image struct {
	Name   string
	Config ImageConfig
	Layers []Layer
}

// Platform is the architecture an image runs on, in the image
// configuration's terms (GOARCH names; arm also has a variant).
type Platform struct {
	Architecture string
	Variant      string
}

// PlatformOf maps a GOARCH (runtime.GOARCH: the images carry binaries built
// for the host) to the image platform.
func PlatformOf(goarch string) Platform {
	if goarch == "arm" {
		// Debian's armhf, the only 32-bit arm the node image supports.
		return Platform{Architecture: "arm", Variant: "v7"}
	}
	return Platform{Architecture: goarch}
}

type imageConfigFile struct {
	Architecture string      `json:"architecture"`
	Variant      string      `json:"variant,omitempty"`
	OS           string      `json:"os"`
	Created      time.Time   `json:"created"`
	Config       ImageConfig `json:"config"`
	RootFS       struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

type manifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// configJSON is the image configuration blob of img.
func configJSON(p Platform, img Image) ([]byte, error) {
	var c imageConfigFile
	c.Architecture, c.Variant, c.OS, c.Created, c.Config = p.Architecture, p.Variant, "linux", epoch(), img.Config
	c.RootFS.Type = "layers"
	c.RootFS.DiffIDs = []string{}
	for _, l := range img.Layers {
		c.RootFS.DiffIDs = append(c.RootFS.DiffIDs, l.DiffID)
	}
	return json.Marshal(c)
}

// WriteArchive writes images in `docker save` format (manifest.json, one
// config JSON per image, one directory per distinct layer) to w. docker load,
// podman load and ctr images import accept it. With gzipLayers the layer
// files are gzip-compressed (diff IDs stay those of the uncompressed tars),
// which keeps a containerd content store small.
func WriteArchive(w io.Writer, p Platform, images []Image, gzipLayers bool) error {
	tw := tar.NewWriter(w)
	var manifest []manifestEntry
	written := map[string]bool{}
	for _, img := range images {
		cfg, err := configJSON(p, img)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(cfg)
		cfgName := hex.EncodeToString(sum[:]) + ".json"
		if !written[cfgName] {
			if err := writeBytes(tw, cfgName, cfg); err != nil {
				return err
			}
			written[cfgName] = true
		}
		m := manifestEntry{Config: cfgName, RepoTags: []string{img.Name}}
		for _, l := range img.Layers {
			name := strings.TrimPrefix(l.DiffID, "sha256:") + "/layer.tar"
			m.Layers = append(m.Layers, name)
			if written[name] {
				continue
			}
			if err := writeLayerFile(tw, name, l.Path, gzipLayers); err != nil {
				return err
			}
			written[name] = true
		}
		manifest = append(manifest, m)
	}
	b, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	if err := writeBytes(tw, "manifest.json", b); err != nil {
		return err
	}
	return tw.Close()
}

// WriteArchiveFile writes the archive to the file dst.
func WriteArchiveFile(dst string, p Platform, images []Image, gzipLayers bool) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if err := WriteArchive(f, p, images, gzipLayers); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return f.Close()
}

// FileDiffID is the diff ID ("sha256:<hex>") of the uncompressed layer file p.
func FileDiffID(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func writeBytes(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: epoch(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

func writeLayerFile(tw *tar.Writer, name, src string, gz bool) error {
	dir := path.Dir(name)
	if err := tw.WriteHeader(&tar.Header{Name: dir + "/", Mode: 0o755, ModTime: epoch(), Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	if gz {
		// The compressed size must be known before the header: compress to a temp file.
		tmp, err := os.CreateTemp(filepath.Dir(src), ".gz-")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		zw, _ := gzip.NewWriterLevel(tmp, gzip.BestSpeed)
		if _, err := io.Copy(zw, in); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		src = tmp.Name()
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), ModTime: epoch(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
