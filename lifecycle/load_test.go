package lifecycle

import (
	"context"
	"errors"
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
