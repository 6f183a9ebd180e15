// Package gobuild builds the node's Go programs (Kubernetes, etcd, coredns,
// kinc's addons) from their modules through the module proxy, in generated
// modules cached under kinc's cache directory.
package gobuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/kinc-dev/kinc/nodeimage/internal/fileop"
	"github.com/kinc-dev/kinc/providers/run"
)

// Cmd is a go command in dir. Every build is static (CGO_ENABLED=0) with
// -mod=mod, so generated modules resolve their requirements through the
// module proxy; these are the flags of every kinc build, so the Go build
// cache is shared between builds.
func Cmd(dir string, args ...string) run.Cmd { return cmd(dir, false, args...) }

// cmd is Cmd, with cgo on when cgo is set (runc's nsenter and seccomp are C).
func cmd(dir string, cgo bool, args ...string) run.Cmd {
	env := "CGO_ENABLED=0"
	if cgo {
		env = "CGO_ENABLED=1"
	}
	return run.Cmd{Args: append([]string{"env", env, "GOFLAGS=-mod=mod", "go", "-C", dir}, args...)}
}

// moduleInfo is `go mod download -json` output.
type moduleInfo struct {
	Path, Version, GoMod, Dir, Error string
}

// Download fetches mod (path@version) into the module cache, from dir.
func Download(ctx context.Context, r run.Runner, dir, mod string) (moduleInfo, error) {
	var info moduleInfo
	out, err := r.Run(ctx, Cmd(dir, "mod", "download", "-json", mod))
	if len(out) > 0 {
		if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
			return info, explainModuleError(ctx, r, mod, fmt.Errorf("go module %s: %s", mod, info.Error))
		}
	}
	if err != nil {
		return info, explainModuleError(ctx, r, mod, fmt.Errorf("go module %s: %w", mod, err))
	}
	if info.Dir == "" || info.GoMod == "" {
		return info, fmt.Errorf("go module %s: go mod download returned no directory", mod)
	}
	return info, nil
}

// ErrNoSuchVersion: the module proxy has no such version of a module.
var ErrNoSuchVersion = errors.New("the module proxy has no such version")

// explainModuleError puts the likely cause of a failed download first: an
// unreachable module proxy, or a version that does not exist.
func explainModuleError(ctx context.Context, r run.Runner, mod string, err error) error {
	msg := err.Error()
	has := func(subs ...string) bool {
		return slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(msg, s) })
	}
	switch {
	case has("dial tcp", "connection refused", "no such host", "i/o timeout", "TLS handshake timeout", "network is unreachable"):
		proxy := "?"
		if out, perr := r.Run(ctx, run.Cmd{Args: []string{"go", "env", "GOPROXY"}, ReadOnly: true}); perr == nil {
			proxy = strings.TrimSpace(string(out))
		}
		return fmt.Errorf("the Go module proxy cannot be reached (GOPROXY=%s): %w", proxy, err)
	case has("not available", "unknown revision", "invalid version", "404 Not Found", "410 Gone"):
		return fmt.Errorf("%s does not exist (%w): %w", mod, ErrNoSuchVersion, err)
	}
	return err
}

// WriteModule writes go.mod in dir, keeping go.sum when go.mod is unchanged.
func WriteModule(ctx context.Context, fx fileop.FS, dir, gomod string) error {
	p := filepath.Join(dir, "go.mod")
	if old, err := os.ReadFile(p); err == nil && string(old) == gomod {
		return nil
	}
	if err := fx.MkdirAll(ctx, dir, 0o755); err != nil {
		return err
	}
	if err := fx.RemoveAll(ctx, filepath.Join(dir, "go.sum")); err != nil {
		return err
	}
	return fx.WriteFile(ctx, p, []byte(gomod), 0o644)
}

// Program is one binary built from a package of a generated module.
type Program struct {
	Name, Package string
	// Ldflags are added after "-s -w" (version stamps, static linking).
	Ldflags string
	Tags    []string
	// Cgo builds with CGO_ENABLED=1 (runc); everything else is pure Go.
	Cgo bool
}

// Args are the go command's arguments building p into dst.
func (p Program) Args(dst string) []string {
	args := []string{"build", "-trimpath"}
	if len(p.Tags) > 0 {
		args = append(args, "-tags", strings.Join(p.Tags, ","))
	}
	return append(args, "-ldflags", strings.TrimSpace("-s -w "+p.Ldflags), "-o", dst, p.Package)
}

// Programs builds, in the generated module modDir with go.mod gomod, each
// program (binary name -> package) into modDir/out/, unless it is there and
// force is false; it returns binary name -> path.
func Programs(ctx context.Context, r run.Runner, modDir, gomod string, programs map[string]string, force bool) (map[string]string, error) {
	var progs []Program
	for n, pkg := range programs {
		progs = append(progs, Program{Name: n, Package: pkg})
	}
	return Build(ctx, r, modDir, gomod, progs, force)
}

// Build builds progs in the generated module modDir (go.mod gomod) into
// modDir/out/, each unless it is there and force is false; it returns binary
// name -> path.
func Build(ctx context.Context, r run.Runner, modDir, gomod string, progs []Program, force bool) (map[string]string, error) {
	fx := fileop.FS{R: r}
	if err := WriteModule(ctx, fx, modDir, gomod); err != nil {
		return nil, err
	}
	progs = slices.Clone(progs)
	sort.Slice(progs, func(i, j int) bool { return progs[i].Name < progs[j].Name })
	bins := map[string]string{}
	for _, p := range progs {
		dst := filepath.Join(modDir, "out", p.Name)
		if _, err := os.Stat(dst); err != nil || force {
			if _, err := r.Run(ctx, cmd(modDir, p.Cgo, p.Args(dst+".tmp")...)); err != nil {
				return nil, fmt.Errorf("build %s: %w", p.Name, err)
			}
			if err := fx.Rename(ctx, dst+".tmp", dst); err != nil {
				return nil, err
			}
		}
		bins[p.Name] = dst
	}
	return bins, nil
}
