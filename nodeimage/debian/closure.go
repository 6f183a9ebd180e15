package debian

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kinc-dev/kinc/providers/run"
)

// AdminDir is the dpkg database of a rootfs (dpkg --admindir).
func AdminDir(rootfs string) string { return filepath.Join(rootfs, "var/lib/dpkg") }

// statusFormat is one line per package: name, status, provides, dependencies.
const statusFormat = "${Package}\t${Status}\t${Provides}\t${Pre-Depends}, ${Depends}\n"

// Closure lists pkgs and every package they depend on, transitively, as
// installed in the rootfs' dpkg database, sorted.
func Closure(ctx context.Context, r run.Runner, rootfs string, pkgs []string) ([]string, error) {
	out, err := r.Run(ctx, run.Cmd{Args: []string{"dpkg-query", "--admindir=" + AdminDir(rootfs), "-W", "-f", statusFormat}, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("read the rootfs' dpkg database: %w", err)
	}
	return closure(string(out), pkgs)
}

// closure resolves pkgs against dpkg-query output in statusFormat. Of
// alternatives (a | b) the first one installed counts, a virtual package
// counting as installed when an installed package provides it (the first
// provider by name, so that the result does not depend on database order).
func closure(status string, pkgs []string) ([]string, error) {
	deps := map[string][]string{} // installed package -> its dependencies, each "a|b|c"
	providers := map[string][]string{}
	for _, l := range strings.Split(status, "\n") {
		f := strings.Split(l, "\t")
		if len(f) != 4 {
			continue
		}
		// "install ok installed"; "deinstall ok config-files" and the like
		// are not on disk.
		if st := strings.Fields(f[1]); len(st) != 3 || st[2] != "installed" {
			continue
		}
		name := f[0]
		deps[name] = nil // dependency-free packages (netbase) count too
		for _, p := range splitList(f[2]) {
			providers[p[0]] = append(providers[p[0]], name)
		}
		for _, alts := range splitList(f[3]) {
			deps[name] = append(deps[name], strings.Join(alts, "|"))
		}
	}
	for _, ps := range providers {
		sort.Strings(ps)
	}
	resolve := func(alts string) string {
		for _, a := range strings.Split(alts, "|") {
			if _, ok := deps[a]; ok {
				return a
			}
			if ps := providers[a]; len(ps) > 0 {
				return ps[0]
			}
		}
		return "" // not installed: dpkg would not have configured the dependent
	}
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		if p == "" || seen[p] {
			return
		}
		seen[p] = true
		for _, d := range deps[p] {
			walk(resolve(d))
		}
	}
	for _, p := range pkgs {
		if _, ok := deps[p]; !ok {
			return nil, fmt.Errorf("package %s is not installed in the rootfs", p)
		}
		walk(p)
	}
	res := make([]string, 0, len(seen))
	for p := range seen {
		res = append(res, p)
	}
	sort.Strings(res)
	return res, nil
}

// splitList parses a dependency field ("a (>= 1) | b:any, c") into its
// entries, each the names of its alternatives without versions or
// architecture qualifiers.
func splitList(field string) [][]string {
	var res [][]string
	for _, entry := range strings.Split(field, ",") {
		var alts []string
		for _, choice := range strings.Split(entry, "|") {
			if f := strings.Fields(choice); len(f) > 0 {
				alts = append(alts, strings.Split(f[0], ":")[0])
			}
		}
		if len(alts) > 0 {
			res = append(res, alts)
		}
	}
	return res
}

// Files lists the paths the installed packages pkgs own, without their
// documentation, manual pages, lintian overrides and translations (no
// container needs them).
func Files(ctx context.Context, r run.Runner, rootfs string, pkgs []string) ([]string, error) {
	out, err := r.Run(ctx, run.Cmd{Args: append([]string{"dpkg-query", "--admindir=" + AdminDir(rootfs), "-L"}, pkgs...), ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("list the files of %s: %w", strings.Join(pkgs, " "), err)
	}
	return packageFiles(string(out)), nil
}

func packageFiles(out string) []string {
	var files []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "/") {
			continue // "package diverts others to: ..." and blank lines
		}
		skip := false
		for _, p := range []string{"/usr/share/doc", "/usr/share/man", "/usr/share/lintian", "/usr/share/locale"} {
			skip = skip || strings.HasPrefix(l, p)
		}
		if !skip {
			files = append(files, l)
		}
	}
	return files
}
