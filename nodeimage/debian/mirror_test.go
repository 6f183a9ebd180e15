package debian

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMirror(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"nothing configured", nil, DefaultMirror},
		{"deb822", map[string]string{"sources.list.d/debian.sources": "Types: deb-src\nURIs: http://src.example/\nSuites: bookworm\n\n" +
			"Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n"}, "http://mirror.example/debian"},
		{"deb822 other suite", map[string]string{"sources.list.d/debian.sources": "Types: deb\nURIs: http://m/\nSuites: trixie\n"}, DefaultMirror},
		{"one-line with options", map[string]string{"sources.list": "# deb http://old/ bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://list.example/debian bookworm main\n"},
			"http://list.example/debian"},
		{"deb822 before lists", map[string]string{"sources.list": "deb http://list/ bookworm main\n",
			"sources.list.d/a.sources": "Types: deb\nURIs: http://first/\nSuites: bookworm\n"}, "http://first/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, data := range tt.files {
				p := filepath.Join(dir, n)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := Mirror(dir, "bookworm"); got != tt.want {
				t.Errorf("Mirror = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestArch(t *testing.T) {
	for goarch, want := range map[string]string{"amd64": "amd64", "arm64": "arm64", "arm": "armhf", "386": "i386", "ppc64le": "ppc64el"} {
		if got, err := Arch(goarch); err != nil || got != want {
			t.Errorf("Arch(%s) = %s %v, want %s", goarch, got, err, want)
		}
	}
	if _, err := Arch("wasm"); err == nil {
		t.Error("wasm accepted")
	}
}
