package hostlimits

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIPVS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		dirs  []string
		want  string // "" for no error
	}{
		{"loaded", []string{"proc/net/ip_vs", "proc/sys/kernel/osrelease"}, nil, ""},
		{"module not loaded", []string{"proc/sys/kernel/osrelease"}, []string{"modules/6.1.0-test/kernel/net/netfilter/ipvs"}, "modprobe -a ip_vs"},
		{"no ipvs at all", []string{"proc/sys/kernel/osrelease"}, nil, "the host kernel (6.1.0-test) has no IPVS"},
		{"no proc", nil, nil, "read the kernel release"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, d := range tc.dirs {
				os.MkdirAll(filepath.Join(root, d), 0o755)
			}
			for _, f := range tc.files {
				os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755)
				os.WriteFile(filepath.Join(root, f), []byte("6.1.0-test\n"), 0o644)
			}
			err := IPVS(filepath.Join(root, "proc"), filepath.Join(root, "modules"))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("IPVS: %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("IPVS: %v, want an error with %q", err, tc.want)
			}
		})
	}
}
