package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/kinc-dev/kinc/lifecycle/imageref"
	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// LoadOptions choose where LoadImages and LoadArchives put images.
type LoadOptions struct {
	// Nodes are node names; empty means every node of the cluster.
	Nodes    []string
	Progress io.Writer
}

// loadable is one image to put into nodes: the names pods may use for it,
// the digest of its configuration (its ID), and how to write its archive.
type loadable struct {
	what   string // for messages: the name the user gave, or the file
	names  []string
	config string
	write  func(ctx context.Context, w io.Writer) error
}

// LoadImages puts images from the provider's own store (what `docker
// build` or `podman build` made) into the containerd of the cluster's nodes,
// under the names a pod's `image:` means: podman keeps `podman build -t
// myapp:dev` as localhost/myapp:dev, and the node gets
// docker.io/library/myapp:dev too. One `save` streams to every node at once;
// a node that holds the same image already is skipped.
func LoadImages(ctx context.Context, p Provider, cluster string, refs []string, o LoadOptions) error {
	c, nodes, err := loadTargets(ctx, p, cluster, o)
	if err != nil {
		return err
	}
	var (
		items   []loadable
		missing *multierror.Error
	)
	for _, ref := range refs {
		img, ok, err := p.StoredImage(ctx, ref)
		if err != nil {
			return err
		}
		if !ok {
			missing = multierror.Append(missing, fmt.Errorf("image %s is not in %s's image store: build it (%s build -t %s .) or pull it (%s pull %s) first",
				ref, p.Name(), p.Name(), ref, p.Name(), ref))
			continue
		}
		// The archive carries the runtime's own name for it (podman:
		// localhost/myapp:dev); the node gets the typed one too.
		items = append(items, loadable{what: ref, names: []string{imageref.Normalize(ref)}, config: img.ID,
			write: func(ctx context.Context, w io.Writer) error { return p.SaveImageTo(ctx, w, ref) }})
	}
	if err := missing.ErrorOrNil(); err != nil {
		return err
	}
	return c.load(ctx, nodes, items)
}

// LoadArchives puts the images of archive files (docker save, podman save or
// OCI layout tars) into the cluster's nodes, streamed from the file.
func LoadArchives(ctx context.Context, p Provider, cluster string, files []string, o LoadOptions) error {
	c, nodes, err := loadTargets(ctx, p, cluster, o)
	if err != nil {
		return err
	}
	var items []loadable
	for _, file := range files {
		images, err := inspectArchive(file)
		if err != nil {
			return err
		}
		for _, img := range images {
			if len(img.Names) == 0 {
				return fmt.Errorf("%s: an image (config %s) has no name, so no pod could use it: save it by name (docker save NAME:TAG)", file, img.Config)
			}
		}
		var names []string
		for _, img := range images {
			for _, n := range img.Names {
				names = append(names, imageref.Normalize(n))
			}
		}
		// An archive is imported whole; it counts as present only when its
		// first image is (archives of one image are the rule).
		items = append(items, loadable{what: file, names: dedupe(names), config: images[0].Config,
			write: func(_ context.Context, w io.Writer) error {
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = io.Copy(w, f)
				return err
			}})
	}
	return c.load(ctx, nodes, items)
}

func inspectArchive(file string) ([]imageref.Image, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	images, err := imageref.Inspect(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("%s: %w: it holds no image", file, imageref.ErrNotArchive)
	}
	return images, nil
}

// loadTargets reads the cluster and checks, before anything is loaded, that
// every chosen node runs and has booted.
func loadTargets(ctx context.Context, p Provider, cluster string, o LoadOptions) (*Cluster, []*Node, error) {
	c, err := Existing(ctx, p, cluster, o.Progress)
	if err != nil {
		return nil, nil, err
	}
	nodes := c.Nodes
	if len(o.Nodes) > 0 {
		nodes = nil
		var unknown []string
		for _, name := range o.Nodes {
			i := slices.IndexFunc(c.Nodes, func(n *Node) bool { return n.Name == name })
			if i < 0 {
				unknown = append(unknown, name)
				continue
			}
			nodes = append(nodes, c.Nodes[i])
		}
		if len(unknown) > 0 {
			var all []string
			for _, n := range c.Nodes {
				all = append(all, n.Name)
			}
			return nil, nil, fmt.Errorf("cluster %q has no node %s (its nodes: %s)", cluster, strings.Join(unknown, ", "), strings.Join(all, ", "))
		}
	}
	// One exec per node, side by side: each costs a round trip to the runtime.
	if err := parallel(nodes, func(n *Node) error {
		switch {
		case n.State != "running":
			return fmt.Errorf("node %s is %s: start it first with: kinc start cluster --name %s", n.Name, n.State, cluster)
		case c.bootState(ctx, n) == contract.StatePaused:
			return fmt.Errorf("node %s has not booted yet (paused): its containerd does not run", n.Name)
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	return c, nodes, nil
}

// load streams every item into the nodes that lack it, all nodes at once.
func (c *Cluster) load(ctx context.Context, nodes []*Node, items []loadable) error {
	var errs *multierror.Error
	for _, it := range items {
		var todo []*Node
		var mu sync.Mutex
		_ = parallel(nodes, func(n *Node) error {
			if c.hasImage(ctx, n, it.names[0], it.config) {
				c.detail("%s: %s already there (%s), skipped", n.Name, it.what, shortDigest(it.config))
				return nil
			}
			mu.Lock()
			todo = append(todo, n)
			mu.Unlock()
			return nil
		})
		if len(todo) == 0 {
			continue
		}
		start := time.Now()
		loaded, err := c.importArchive(ctx, todo, it)
		if len(loaded) > 0 {
			c.detail("%s loaded into %d node(s) in %.1fs", it.what, len(loaded), time.Since(start).Seconds())
		}
		if err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	return errs.ErrorOrNil()
}

func shortDigest(d string) string {
	_, hex, _ := strings.Cut(d, ":")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// importArchive writes one archive once, fanned out to `ctr images import`
// in every node, then gives each node the names pods use and checks that
// the image it now holds is the one asked for. It returns the nodes that
// hold it now.
func (c *Cluster) importArchive(ctx context.Context, nodes []*Node, it loadable) ([]*Node, error) {
	readers := make([]*io.PipeReader, len(nodes))
	writers := make([]*io.PipeWriter, len(nodes))
	for i := range nodes {
		readers[i], writers[i] = io.Pipe()
	}
	results := make([]error, len(nodes))
	// ctr's stderr also goes to a file in the node: podman's exec stream
	// was seen to drop a failed import's last line (the "no space left on
	// device" that says why), which a second exec then reads from there.
	errFile := fmt.Sprintf("/run/kinc/load-%d-%d.err", os.Getpid(), time.Now().UnixNano())
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// --local: ctr 2.x otherwise imports through the transfer
			// service, which prints no "unpacking <name>" lines to read.
			// One exec imports, names and reads back the image: each exec
			// is a round trip to the runtime.
			args := append([]string{"sh", "-c", importScript, "sh", contract.ContainerdNamespace, errFile}, it.names...)
			out, err := c.nodeCommand(ctx, n, readers[i], args...)
			// A node that failed stops taking data; the others go on.
			readers[i].CloseWithError(errNodeGaveUp)
			if err != nil {
				err = c.withImportErrors(ctx, n, errFile, err)
			}
			if err == nil {
				err = c.checkImported(ctx, n, it, string(out))
			}
			results[i] = err
		}()
	}
	fan := &fanout{writers: make([]io.Writer, len(nodes))}
	for i := range writers {
		fan.writers[i] = writers[i]
	}
	writeErr := it.write(ctx, fan)
	for _, w := range writers {
		w.CloseWithError(writeErr)
	}
	wg.Wait()
	var (
		errs   *multierror.Error
		loaded []*Node
	)
	for i, n := range nodes {
		if results[i] != nil {
			errs = multierror.Append(errs, fmt.Errorf("load %s into %s: %w", it.what, n.Name, results[i]))
		} else {
			loaded = append(loaded, n)
		}
	}
	if writeErr != nil && !errors.Is(writeErr, errNodeGaveUp) {
		// The archive itself could not be written whole: no node has it.
		return nil, multierror.Append(errs, fmt.Errorf("load %s: %w", it.what, writeErr)).ErrorOrNil()
	}
	return loaded, errs.ErrorOrNil()
}

var errNodeGaveUp = errors.New("the node's import stopped")

// importScript runs ctr images import on stdin ($1: the namespace), its
// stderr kept in $2 as well when it fails; then gives the image the names
// $3... (those the import did not give it), and prints, after a line
// importedMarker, the target blob (manifest or index) of $3.
const importScript = `ns=$1 err=$2; shift 2
out=$(ctr -n "$ns" images import --local - 2>"$err"); rc=$?
printf '%s\n' "$out"; cat "$err" >&2
[ "$rc" -eq 0 ] || exit "$rc"
rm -f "$err"
first=$(printf '%s\n' "$out" | sed -n 's/^unpacking \([^ ]*\) .*/\1/p' | head -n 1)
[ -n "$first" ] || { echo "ctr images import named no image" >&2; exit 3; }
for name; do
	printf '%s\n' "$out" | grep -qF "unpacking $name " && continue
	ctr -n "$ns" images tag --force "$first" "$name" >/dev/null || { echo "could not name it $name" >&2; exit 4; }
done
echo ` + importedMarker + `
` + imageBlobScript

// importedMarker separates ctr's own output from the image's blob.
const importedMarker = "--- kinc: imported ---"

// imageBlobScript prints the target blob (manifest or index) of the image
// named $1 in namespace $ns; it fails when there is none.
const imageBlobScript = `d=$(ctr -n "$ns" images ls "name==$1" | awk 'NR==2 {print $3}')
[ -n "$d" ] || { echo "no image $1 after the import" >&2; exit 5; }
exec ctr -n "$ns" content get "$d"`

// withImportErrors adds to a failed import's error what ctr wrote to
// stderr, read back from the node, when the exec stream lost it.
func (c *Cluster) withImportErrors(ctx context.Context, n *Node, errFile string, err error) error {
	out, readErr := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{}, "sh", "-c", `cat "$1"; rm -f "$1"`, "sh", errFile)
	saved := strings.TrimSpace(string(out))
	if readErr != nil || saved == "" {
		return err
	}
	said := err.Error()
	lost := false
	for _, l := range strings.Split(saved, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(said, l) {
			lost = true
		}
	}
	if !lost {
		return err
	}
	return fmt.Errorf("%w\n  ctr said: %s", err, strings.ReplaceAll(run.Tail(saved, 10), "\n", "\n    "))
}

// fanout writes to every writer that still takes data; it fails only when
// none does.
type fanout struct {
	writers []io.Writer
}

func (f *fanout) Write(p []byte) (int, error) {
	live := 0
	for i, w := range f.writers {
		if w == nil {
			continue
		}
		if _, err := w.Write(p); err != nil {
			f.writers[i] = nil
			continue
		}
		live++
	}
	if live == 0 {
		return 0, errNodeGaveUp
	}
	return len(p), nil
}

// checkImported checks, from the import script's output, that the node
// now holds the image asked for under its first name.
func (c *Cluster) checkImported(ctx context.Context, n *Node, it loadable, out string) error {
	_, blob, ok := strings.Cut(out, importedMarker+"\n")
	if !ok {
		return fmt.Errorf("the import printed no image (%q)", run.Tail(out, 5))
	}
	got, err := c.blobConfig(ctx, n, []byte(blob), 0)
	if err != nil {
		return fmt.Errorf("after the import, read %s: %w", it.names[0], err)
	}
	if got != it.config {
		return fmt.Errorf("after the import %s is not image %s (it is %s)", it.names[0], shortDigest(it.config), shortDigest(got))
	}
	return nil
}

// hasImage reports whether the node's containerd holds name as the image
// whose configuration has the given digest: one exec for the usual image
// (a manifest), one more per index level.
func (c *Cluster) hasImage(ctx context.Context, n *Node, name, config string) bool {
	blob, err := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{}, "sh", "-c", "ns=$1; shift; "+imageBlobScript, "sh", contract.ContainerdNamespace, name)
	if err != nil {
		return false
	}
	got, err := c.blobConfig(ctx, n, blob, 0)
	return err == nil && got == config
}

// configDigest follows a manifest or index in the node's content store to
// the configuration digest of this architecture's image.
func (c *Cluster) configDigest(ctx context.Context, n *Node, digest string, depth int) (string, error) {
	if depth > 3 {
		return "", fmt.Errorf("indexes nested too deep")
	}
	blob, err := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{}, "ctr", "-n", contract.ContainerdNamespace, "content", "get", digest)
	if err != nil {
		return "", err
	}
	return c.blobConfig(ctx, n, blob, depth)
}

// blobConfig is the configuration digest a manifest names, or that of this
// architecture's manifest in an index (read from the node).
func (c *Cluster) blobConfig(ctx context.Context, n *Node, blob []byte, depth int) (string, error) {
	var doc struct {
		Config struct {
			Digest string `json:"digest"`
		} `json:"config"`
		Manifests []struct {
			Digest   string `json:"digest"`
			Platform *struct {
				OS           string `json:"os"`
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(blob, &doc); err != nil {
		return "", err
	}
	if doc.Config.Digest != "" {
		return doc.Config.Digest, nil
	}
	for _, m := range doc.Manifests {
		if len(doc.Manifests) == 1 || (m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == runtime.GOARCH) {
			return c.configDigest(ctx, n, m.Digest, depth+1)
		}
	}
	return "", fmt.Errorf("no image for linux/%s in the index", runtime.GOARCH)
}
