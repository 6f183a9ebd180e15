package lifecycle

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// A failed import whose exec stream lost ctr's last words gets them from
// the file the node kept; what the error already says is not repeated.
func TestWithImportErrors(t *testing.T) {
	const errFile = "/run/kinc/load-1-2.err"
	nospace := "ctr: failed to ingest: write /var/lib/containerd/ingest/x: no space left on device"
	for _, tc := range []struct {
		name, saved, errText string
		want, notWant        []string
	}{
		{"lost by the stream", "warning: cgroup v1\n" + nospace, "exit status 1: warning: cgroup v1",
			[]string{"exit status 1", "ctr said:", "no space left on device"}, nil},
		{"already in the error", nospace, "exit status 1: " + nospace, []string{nospace}, []string{"ctr said:"}},
		{"already in the error, indented", "warning: cgroup v1\n" + nospace, "exit status 1\n    output (tail):\n        warning: cgroup v1\n        " + nospace,
			[]string{nospace}, []string{"ctr said:"}},
		{"nothing kept", "", "exit status 1", []string{"exit status 1"}, []string{"ctr said:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeDocker()
			f.answers = map[string]string{errFile: tc.saved}
			rec := &run.Recorder{Respond: f.respond}
			rt, err := providers.New("docker", rec)
			if err != nil {
				t.Fatal(err)
			}
			c := &Cluster{Name: "c", Provider: rt}
			got := c.withImportErrors(context.Background(), &Node{Name: "c-worker"}, errFile, errors.New(tc.errText)).Error()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("error %q lacks %q", got, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("error %q holds %q", got, w)
				}
			}
			if strings.Count(got, nospace) > 1 {
				t.Errorf("error repeats ctr's words: %q", got)
			}
			if calls := rec.Calls(); len(calls) == 0 || !strings.Contains(calls[len(calls)-1].Line(), errFile) {
				t.Errorf("no exec read %s: %v", errFile, calls)
			} else if line := calls[len(calls)-1].Line(); !strings.Contains(line, "docker exec c-worker sh -c") || !strings.Contains(line, errFile) {
				t.Errorf("read the saved stderr with %q", line)
			}
		})
	}
}

// The import script, run by sh against a stand-in ctr: it imports, names the
// image only where the import did not, and prints the image's blob after
// the marker; a failed import keeps ctr's stderr in the file and stops.
func TestImportScript(t *testing.T) {
	for _, tc := range []struct {
		name       string
		importExit string
		names      []string
		wantTags   []string
		wantExit   int
	}{
		{"docker name imported as is", "0", []string{"docker.io/library/app:dev"}, nil, 0},
		{"a name the import did not give is tagged", "0", []string{"docker.io/library/app:dev", "localhost/app:dev"}, []string{"localhost/app:dev"}, 0},
		{"import fails", "1", []string{"docker.io/library/app:dev"}, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "calls")
			// ctr -n NS images import|tag|ls ..., ctr -n NS content get D
			stub := `#!/bin/sh
echo "$*" >> ` + log + `
case "$3 $4" in
"images import") cat >/dev/null; if [ "` + tc.importExit + `" = 0 ]; then echo "unpacking docker.io/library/app:dev (sha256:aa)...done"; exit 0; fi; echo "ctr: no space left on device" >&2; exit 1;;
"images tag") exit 0;;
"images ls") echo "REF TYPE DIGEST SIZE PLATFORMS LABELS"; echo "$5 application/vnd.oci.image.manifest.v1+json sha256:m1 1MiB linux/amd64 -";;
"content get") echo '{"config":{"digest":"sha256:cfg"}}';;
esac
`
			if err := os.WriteFile(filepath.Join(dir, "ctr"), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}
			errFile := filepath.Join(dir, "load.err")
			cmd := exec.Command("sh", append([]string{"-c", importScript, "sh", "k8s.io", errFile}, tc.names...)...)
			cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
			cmd.Stdin = strings.NewReader("archive bytes")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if got := cmd.ProcessState.ExitCode(); got != tc.wantExit {
				t.Fatalf("exit %d (%v), want %d; stderr %q", got, err, tc.wantExit, stderr.String())
			}
			calls, _ := os.ReadFile(log)
			if tc.wantExit != 0 {
				if saved, _ := os.ReadFile(errFile); !strings.Contains(string(saved), "no space left") || !strings.Contains(stderr.String(), "no space left") {
					t.Errorf("ctr's stderr: kept %q, printed %q", saved, stderr.String())
				}
				if strings.Contains(string(calls), "tag") {
					t.Errorf("named the image after a failed import:\n%s", calls)
				}
				return
			}
			var tags []string
			for _, l := range strings.Split(string(calls), "\n") {
				if f := strings.Fields(l); len(f) == 7 && f[3] == "tag" {
					tags = append(tags, f[6])
				}
			}
			if !slices.Equal(tags, tc.wantTags) {
				t.Errorf("tagged %v, want %v", tags, tc.wantTags)
			}
			if !strings.Contains(string(calls), "images ls name=="+tc.names[0]) {
				t.Errorf("did not read back %s:\n%s", tc.names[0], calls)
			}
			_, blob, ok := strings.Cut(string(out), importedMarker+"\n")
			if !ok || strings.TrimSpace(blob) != `{"config":{"digest":"sha256:cfg"}}` {
				t.Errorf("output %q lacks the marker and the blob", out)
			}
			if _, err := os.Stat(errFile); err == nil {
				t.Errorf("%s left after a good import", errFile)
			}
		})
	}
}
