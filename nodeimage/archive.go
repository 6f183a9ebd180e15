package nodeimage

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
	"sort"
	"strings"
	"time"
)

// epoch is the modification time of every file kinc writes into a layer, so
// that layers are reproducible.
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

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

type imageConfigFile struct {
	Architecture string      `json:"architecture"`
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
func configJSON(img Image) ([]byte, error) {
	var c imageConfigFile
	c.Architecture, c.OS, c.Created, c.Config = "amd64", "linux", epoch, img.Config
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
func WriteArchive(w io.Writer, images []Image, gzipLayers bool) error {
	tw := tar.NewWriter(w)
	var manifest []manifestEntry
	written := map[string]bool{}
	for _, img := range images {
		cfg, err := configJSON(img)
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

func writeBytes(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

func writeLayerFile(tw *tar.Writer, name, src string, gz bool) error {
	dir := path.Dir(name)
	if err := tw.WriteHeader(&tar.Header{Name: dir + "/", Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeDir}); err != nil {
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
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// LayerWriter writes a layer tar to a file and computes its diff ID.
type LayerWriter struct {
	f    *os.File
	h    io.Writer
	sum  func() string
	tw   *tar.Writer
	seen map[string]bool
	path string
}

// NewLayerWriter creates the layer file dst.
func NewLayerWriter(dst string) (*LayerWriter, error) {
	f, err := os.Create(dst)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	lw := &LayerWriter{f: f, h: h, sum: func() string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }, seen: map[string]bool{}, path: dst}
	lw.tw = tar.NewWriter(io.MultiWriter(f, h))
	return lw, nil
}

func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// Dir adds a directory (root-owned).
func (lw *LayerWriter) Dir(name string, mode int64) error {
	name = cleanName(name)
	if name == "" || lw.seen[name] {
		return nil
	}
	if err := lw.parents(name); err != nil {
		return err
	}
	lw.seen[name] = true
	return lw.tw.WriteHeader(&tar.Header{Name: name + "/", Mode: mode, ModTime: epoch, Typeflag: tar.TypeDir, Format: tar.FormatPAX})
}

func (lw *LayerWriter) parents(name string) error {
	if d := path.Dir(name); d != "." && d != "/" {
		return lw.Dir(d, 0o755)
	}
	return nil
}

// File adds a regular file (root-owned) with content data.
func (lw *LayerWriter) File(name string, mode int64, data []byte) error {
	name = cleanName(name)
	if err := lw.parents(name); err != nil {
		return err
	}
	lw.seen[name] = true
	if err := lw.tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := lw.tw.Write(data)
	return err
}

// Symlink adds a symbolic link.
func (lw *LayerWriter) Symlink(name, target string) error {
	name = cleanName(name)
	if err := lw.parents(name); err != nil {
		return err
	}
	lw.seen[name] = true
	return lw.tw.WriteHeader(&tar.Header{Name: name, Linkname: target, Mode: 0o777, ModTime: epoch, Typeflag: tar.TypeSymlink, Format: tar.FormatPAX})
}

// CopyFrom adds root/name (a file, directory or symlink; directories not
// recursively) as name, keeping mode and ownership.
func (lw *LayerWriter) CopyFrom(root, name string) error {
	name = cleanName(name)
	if name == "" || lw.seen[name] {
		return nil
	}
	src := filepath.Join(root, name)
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if err := lw.parents(name); err != nil {
		return err
	}
	link := ""
	if st.Mode()&os.ModeSymlink != 0 {
		if link, err = os.Readlink(src); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(st, link)
	if err != nil {
		return err
	}
	hdr.Name, hdr.ModTime, hdr.Format = name, epoch, tar.FormatPAX
	hdr.Uname, hdr.Gname, hdr.AccessTime, hdr.ChangeTime = "", "", time.Time{}, time.Time{}
	switch {
	case st.IsDir():
		hdr.Name += "/"
	case st.Mode().IsRegular(), st.Mode()&os.ModeSymlink != 0:
	default:
		return fmt.Errorf("%s: unsupported file type %s", src, st.Mode().Type())
	}
	lw.seen[name] = true
	if err := lw.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if st.Mode().IsRegular() {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.Copy(lw.tw, f); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
	}
	return nil
}

// CopyTree adds root/names (sorted) and everything below directories among them.
func (lw *LayerWriter) CopyTree(root string, names ...string) error {
	sort.Strings(names)
	for _, n := range names {
		err := filepath.Walk(filepath.Join(root, n), func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			return lw.CopyFrom(root, filepath.ToSlash(rel))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Close finishes the layer and returns it.
func (lw *LayerWriter) Close() (Layer, error) {
	if err := lw.tw.Close(); err != nil {
		lw.f.Close()
		return Layer{}, err
	}
	if err := lw.f.Close(); err != nil {
		return Layer{}, err
	}
	return Layer{Path: lw.path, DiffID: lw.sum()}, nil
}
