// Package fileop does the builder's file effects through a run.Runner
// (run.Cmd.Do), so that a dry run prints and skips them and a test records
// them, exactly like the commands around them.
package fileop

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kinc-dev/kinc/providers/run"
)

// FS does file effects through R.
type FS struct{ R run.Runner }

// Do runs fn as the file effect described by line (a shell-like command).
func (f FS) Do(ctx context.Context, fn func() error, line ...string) error {
	_, err := f.R.Run(ctx, run.Cmd{Args: line, Do: fn})
	return err
}

func octal(m fs.FileMode) string { return strconv.FormatUint(uint64(m.Perm()), 8) }

// MkdirAll creates dir and its parents.
func (f FS) MkdirAll(ctx context.Context, dir string, mode fs.FileMode) error {
	return f.Do(ctx, func() error { return os.MkdirAll(dir, mode) }, "mkdir", "-p", "-m", octal(mode), dir)
}

// WriteFile writes data to p.
func (f FS) WriteFile(ctx context.Context, p string, data []byte, mode fs.FileMode) error {
	return f.Do(ctx, func() error { return os.WriteFile(p, data, mode) }, "write", p, fmt.Sprintf("%d bytes", len(data)), "mode "+octal(mode))
}

// Rename moves from to to.
func (f FS) Rename(ctx context.Context, from, to string) error {
	return f.Do(ctx, func() error { return os.Rename(from, to) }, "mv", from, to)
}

// RemoveAll removes each path and everything below it.
func (f FS) RemoveAll(ctx context.Context, paths ...string) error {
	if len(paths) == 0 {
		return nil
	}
	return f.Do(ctx, func() error {
		var errs []error
		for _, p := range paths {
			errs = append(errs, os.RemoveAll(p))
		}
		return errors.Join(errs...)
	}, append([]string{"rm", "-rf"}, paths...)...)
}

// Symlink creates link pointing to target.
func (f FS) Symlink(ctx context.Context, target, link string) error {
	return f.Do(ctx, func() error { return os.Symlink(target, link) }, "ln", "-s", target, link)
}

// Chmod sets the permissions of each path.
func (f FS) Chmod(ctx context.Context, mode fs.FileMode, paths ...string) error {
	return f.Do(ctx, func() error {
		var errs []error
		for _, p := range paths {
			errs = append(errs, os.Chmod(p, mode))
		}
		return errors.Join(errs...)
	}, append([]string{"chmod", octal(mode)}, paths...)...)
}

// MkdirTemp creates a new directory in dir (os.TempDir() when empty) and
// returns it; on a dry run it returns a placeholder and creates nothing.
func (f FS) MkdirTemp(ctx context.Context, dir, pattern string) (string, error) {
	name := dir
	if name == "" {
		name = os.TempDir()
	}
	placeholder := name + "/" + pattern + "XXXXXX"
	err := f.Do(ctx, func() error {
		var err error
		placeholder, err = os.MkdirTemp(dir, pattern)
		return err
	}, "mktemp", "-d", placeholder)
	return placeholder, err
}

// CopyFile copies src to dst with mode, creating dst's directory.
func (f FS) CopyFile(ctx context.Context, src, dst string, mode fs.FileMode) error {
	return f.Do(ctx, func() error {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, mode)
	}, "install", "-D", "-m", octal(mode), src, dst)
}
