package oci

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

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

// Has reports whether the layer already holds name.
func (lw *LayerWriter) Has(name string) bool { return lw.seen[cleanName(name)] }

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
	return lw.tw.WriteHeader(&tar.Header{Name: name + "/", Mode: mode, ModTime: epoch(), Typeflag: tar.TypeDir, Format: tar.FormatPAX})
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
	if err := lw.tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
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
	return lw.tw.WriteHeader(&tar.Header{Name: name, Linkname: target, Mode: 0o777, ModTime: epoch(), Typeflag: tar.TypeSymlink, Format: tar.FormatPAX})
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
	hdr.Name, hdr.ModTime, hdr.Format = name, epoch(), tar.FormatPAX
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
