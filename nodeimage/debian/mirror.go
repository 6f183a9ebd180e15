// Package debian makes the node's Debian rootfs with debootstrap and answers
// questions about it from its dpkg database: the dependency closure of
// packages and the files they install.
package debian

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultMirror is used when apt on the host names no mirror for the suite.
const DefaultMirror = "http://deb.debian.org/debian"

// Mirror is the first URI that apt's configuration in aptDir (/etc/apt)
// uses for suite (deb822 .sources files first, then one-line .list files),
// else DefaultMirror: the host's mirror is the one known to be reachable.
func Mirror(aptDir, suite string) string {
	files, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*.sources"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if uri := deb822Mirror(string(data), suite); uri != "" {
			return uri
		}
	}
	lists, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*.list"))
	for _, f := range append([]string{filepath.Join(aptDir, "sources.list")}, lists...) {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if uri := listMirror(string(data), suite); uri != "" {
			return uri
		}
	}
	return DefaultMirror
}

func deb822Mirror(data, suite string) string {
	for _, stanza := range strings.Split(data, "\n\n") {
		fields := map[string]string{}
		for _, l := range strings.Split(stanza, "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, "#") {
				fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		if slices.Contains(strings.Fields(fields["suites"]), suite) && slices.Contains(strings.Fields(fields["types"]), "deb") {
			if uris := strings.Fields(fields["uris"]); len(uris) > 0 {
				return uris[0]
			}
		}
	}
	return ""
}

// listMirror reads "deb [opts] URI suite components..." lines.
func listMirror(data, suite string) string {
	for _, l := range strings.Split(data, "\n") {
		fs := strings.Fields(l)
		if len(fs) < 3 || fs[0] != "deb" {
			continue
		}
		i := 1
		if strings.HasPrefix(fs[1], "[") {
			for i < len(fs) && !strings.HasSuffix(fs[i], "]") {
				i++
			}
			i++
		}
		if i+1 < len(fs) && fs[i+1] == suite {
			return fs[i]
		}
	}
	return ""
}

// Arch is Debian's name (debootstrap --arch) for a GOARCH.
func Arch(goarch string) (string, error) {
	a, ok := map[string]string{
		"amd64": "amd64", "arm64": "arm64", "arm": "armhf", "386": "i386",
		"ppc64le": "ppc64el", "s390x": "s390x", "riscv64": "riscv64", "mips64le": "mips64el", "loong64": "loong64",
	}[goarch]
	if !ok {
		return "", fmt.Errorf("no Debian architecture for GOARCH %s", goarch)
	}
	return a, nil
}
