package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/lifecycle/spec"
)

// TestConvertKindConfig: kind configurations in testdata/kind/ and their
// golden conversions (NAME.toml) or errors (NAME.err).
func TestConvertKindConfig(t *testing.T) {
	files, _ := filepath.Glob("../testdata/kind/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/kind/*.yaml")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			out, errOut, code := runKinc(t, nil, "convert", "kind-config", file)
			base := strings.TrimSuffix(file, ".yaml")
			got, golden := out, base+".toml"
			if _, err := os.Stat(base + ".err"); err == nil {
				got, golden = errOut, base+".err"
				if code != ExitFailed {
					t.Errorf("exit %d, want %d", code, ExitFailed)
				}
			} else if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if os.Getenv("KINC_UPDATE_GOLDEN") != "" {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("differs from %s:\n%s", golden, got)
			}
			if strings.HasSuffix(golden, ".toml") {
				if _, err := spec.Parse(golden, want); err != nil {
					t.Errorf("the converted spec does not load: %v", err)
				}
			}
		})
	}
}
