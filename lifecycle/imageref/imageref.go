// Package imageref reads image names as Kubernetes and containerd do, and
// the image archives `docker save`, `podman save` and OCI tools write.
package imageref

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"strings"
)

// Normalize returns the full name a pod's `image:` means: a name without a
// registry is on docker.io (under library/ when it has no path), and one
// without a tag or digest is :latest. "myapp:dev" is
// "docker.io/library/myapp:dev"; "localhost/myapp:dev" stays as it is.
func Normalize(ref string) string {
	name, digest, hasDigest := strings.Cut(ref, "@")
	first, rest, hasSlash := strings.Cut(name, "/")
	if !hasSlash || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		if !hasSlash {
			name = "library/" + name
		}
		name = "docker.io/" + name
	} else if first == "index.docker.io" {
		name = "docker.io/" + rest
	}
	if hasDigest {
		return name + "@" + digest
	}
	if i := strings.LastIndex(name, ":"); i < 0 || strings.Contains(name[i:], "/") {
		name += ":latest"
	}
	return name
}

// Image is one image of an archive: its names and the digest of its
// configuration (the image ID docker and podman show).
type Image struct {
	Names  []string
	Config string
}

// ErrNotArchive means the file is not an image archive.
var ErrNotArchive = errors.New("not an image archive (docker save, podman save or OCI layout tar)")

// Inspect reads the images an archive holds: a docker-save archive
// (manifest.json) or an OCI image layout (index.json).
func Inspect(r io.Reader) ([]Image, error) {
	tr := tar.NewReader(r)
	files := map[string][]byte{}
	sawTar := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !sawTar {
				return nil, fmt.Errorf("%w: %v", ErrNotArchive, err)
			}
			return nil, fmt.Errorf("read archive: %w", err)
		}
		sawTar = true
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		// Only the small JSON documents are kept: the manifests, the index
		// and the blobs they point to are read from here.
		if h.Typeflag == tar.TypeReg && h.Size < 1<<20 {
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("read archive: %w", err)
			}
			files[name] = data
		}
	}
	if !sawTar {
		return nil, ErrNotArchive
	}
	if m, ok := files["manifest.json"]; ok {
		return dockerArchive(m)
	}
	if idx, ok := files["index.json"]; ok {
		return ociLayout(idx, files)
	}
	return nil, fmt.Errorf("%w: it has neither manifest.json nor index.json", ErrNotArchive)
}

func dockerArchive(manifest []byte) ([]Image, error) {
	var entries []struct {
		Config   string
		RepoTags []string
	}
	if err := json.Unmarshal(manifest, &entries); err != nil {
		return nil, fmt.Errorf("%w: manifest.json: %v", ErrNotArchive, err)
	}
	var res []Image
	for _, e := range entries {
		// "<hex>.json" (docker before 25) or "blobs/sha256/<hex>".
		hex := strings.TrimSuffix(path.Base(e.Config), ".json")
		res = append(res, Image{Names: e.RepoTags, Config: "sha256:" + hex})
	}
	return res, nil
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

func ociLayout(index []byte, files map[string][]byte) ([]Image, error) {
	var idx struct {
		Manifests []descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(index, &idx); err != nil {
		return nil, fmt.Errorf("%w: index.json: %v", ErrNotArchive, err)
	}
	var res []Image
	for _, d := range idx.Manifests {
		img := Image{}
		for _, key := range []string{"io.containerd.image.name", "org.opencontainers.image.ref.name"} {
			if n := d.Annotations[key]; n != "" {
				img.Names = append(img.Names, n)
				break
			}
		}
		cfg, err := ociConfig(d, files, 0)
		if err != nil {
			return nil, err
		}
		img.Config = cfg
		res = append(res, img)
	}
	return res, nil
}

// ociConfig follows a descriptor (through nested indexes, to the linux/amd64
// manifest, or the only one) to its image configuration's digest; nodes
// run on this machine's architecture.
func ociConfig(d descriptor, files map[string][]byte, depth int) (string, error) {
	if depth > 3 {
		return "", fmt.Errorf("%w: indexes nested too deep", ErrNotArchive)
	}
	algo, hex, ok := strings.Cut(d.Digest, ":")
	if !ok {
		return "", fmt.Errorf("%w: bad digest %q", ErrNotArchive, d.Digest)
	}
	blob, ok := files[path.Join("blobs", algo, hex)]
	if !ok {
		return "", fmt.Errorf("%w: blob %s is missing", ErrNotArchive, d.Digest)
	}
	var doc struct {
		Config    descriptor   `json:"config"`
		Manifests []descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(blob, &doc); err != nil {
		return "", fmt.Errorf("%w: blob %s: %v", ErrNotArchive, d.Digest, err)
	}
	if doc.Config.Digest != "" {
		return doc.Config.Digest, nil
	}
	for _, m := range doc.Manifests {
		if len(doc.Manifests) == 1 || (m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == runtime.GOARCH) {
			return ociConfig(m, files, depth+1)
		}
	}
	return "", fmt.Errorf("%w: no linux/%s image in %s", ErrNotArchive, runtime.GOARCH, d.Digest)
}
