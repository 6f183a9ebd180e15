package gobuild

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/kinc-dev/kinc/nodeimage/internal/fileop"
	"github.com/kinc-dev/kinc/providers/run"
)

// Addons copies the Go sources of fsys' addons/ tree into work/addons and
// builds each of names (addons/<name>) into work/addon-bin/; it returns
// name -> binary. module is the addons' import path in kinc's own module, so
// that their imports of the shared addons/internal packages resolve here too.
func Addons(ctx context.Context, r run.Runner, fsys fs.FS, module, work string, names []string) (map[string]string, error) {
	fx := fileop.FS{R: r}
	dir := filepath.Join(work, "addons")
	err := fs.WalkDir(fsys, "addons", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(work, filepath.FromSlash(p))
		if err := fx.MkdirAll(ctx, filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return fx.WriteFile(ctx, dst, data, 0o644)
	})
	if err != nil {
		return nil, fmt.Errorf("copy the addon sources: %w", err)
	}
	if err := fx.WriteFile(ctx, filepath.Join(dir, "go.mod"), []byte("module "+module+"\n\ngo 1.22\n"), 0o644); err != nil {
		return nil, err
	}
	bins := map[string]string{}
	for _, n := range names {
		dst := filepath.Join(work, "addon-bin", n)
		if _, err := r.Run(ctx, Cmd(dir, "build", "-trimpath", "-ldflags", "-s -w", "-o", dst, "./"+n)); err != nil {
			return nil, fmt.Errorf("addon %s: %w", n, err)
		}
		bins[n] = dst
	}
	return bins, nil
}
