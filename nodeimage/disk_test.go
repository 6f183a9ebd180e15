package nodeimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/nodeimage/internal/diskcheck"
	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

func TestDiskNeeds(t *testing.T) {
	const v = "v1.34.4"
	tests := []struct {
		name string
		// warm: this version's Kubernetes binaries and module are cached.
		warm, force, goFails bool
		want                 string
	}{
		{name: "cold", want: "kinc cache 4.0 GiB, GOCACHE 5.0 GiB, GOMODCACHE 3.0 GiB, docker image store 2.0 GiB, podman image store 2.0 GiB"},
		{name: "warm", warm: true, want: "kinc cache 4.0 GiB, GOCACHE 1.0 GiB, GOMODCACHE 512 MiB, docker image store 2.0 GiB, podman image store 2.0 GiB"},
		{name: "forced rebuild compiles again", warm: true, force: true,
			want: "kinc cache 4.0 GiB, GOCACHE 5.0 GiB, GOMODCACHE 512 MiB, docker image store 2.0 GiB, podman image store 2.0 GiB"},
		{name: "go does not answer", goFails: true, want: "kinc cache 4.0 GiB, docker image store 2.0 GiB, podman image store 2.0 GiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			cache, modCache := filepath.Join(tmp, "kinc"), filepath.Join(tmp, "gomod")
			if tt.warm {
				for _, f := range []string{filepath.Join(cache, "go/kubernetes-"+v+"/out/.built"), filepath.Join(modCache, "cache/download/k8s.io/kubernetes/@v", v+".zip")} {
					_ = os.MkdirAll(filepath.Dir(f), 0o755)
					if err := os.WriteFile(f, nil, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			rec := &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
				switch {
				case c.Args[0] == "go" && tt.goFails:
					return nil, errors.New("go: not found")
				case c.Args[0] == "go":
					return []byte(filepath.Join(tmp, "gocache") + "\n" + modCache + "\n"), nil
				case slices.Contains(c.Args, "info"):
					return []byte("/var/lib/" + c.Args[0] + "\n"), nil
				}
				return nil, nil
			}}
			var rts []*providers.Runtime
			for _, n := range []string{"docker", "podman"} {
				rt, err := providers.New(n, rec)
				if err != nil {
					t.Fatal(err)
				}
				rts = append(rts, rt)
			}
			needs := diskNeeds(context.Background(), Options{CacheDir: cache, Force: tt.force, Runner: rec, Runtimes: rts}, DefaultInputs(v))
			var got []string
			for _, n := range needs {
				got = append(got, fmt.Sprintf("%s %s", n.What, diskcheck.Size(n.Bytes)))
			}
			if strings.Join(got, ", ") != tt.want {
				t.Errorf("needs %s\nwant  %s", strings.Join(got, ", "), tt.want)
			}
			for _, c := range rec.Calls() {
				if !c.ReadOnly {
					t.Errorf("%s is not marked read-only", c.Line())
				}
			}
		})
	}
}
