package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func stream(events ...event) string {
	var b strings.Builder
	for _, e := range events {
		j, _ := json.Marshal(e)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func out(pkg, test, text string) event {
	return event{Action: "output", Package: pkg, Test: test, Output: text}
}

func TestReport(t *testing.T) {
	const p = "example.com/e2e"
	for _, tc := range []struct {
		name       string
		in         string
		wantFailed bool
		want       []string // in the summary, in this order
		notWant    []string // not in the summary
	}{
		{
			name: "passing tests: output copied, no summary",
			in: stream(out(p, "TestA", "=== RUN   TestA\n"), out(p, "TestA", "    a_test.go:3: hello\n"),
				event{Action: "pass", Package: p, Test: "TestA"}, event{Action: "pass", Package: p}),
			wantFailed: false,
			notWant:    []string{"=== failures"},
		},
		{
			name: "a failed subtest: its messages with their continuation lines, the parent not repeated",
			in: stream(
				out(p, "TestS", "=== RUN   TestS\n"),
				out(p, "TestS/docker", "=== RUN   TestS/docker\n"),
				out(p, "TestS/docker", "    s_test.go:10: created in 3s:\n"),
				out(p, "TestS/docker", "        line two of the log\n"),
				out(p, "TestS/docker", "    s_test.go:20: lookup tcp web-1 took 3s\n"),
				out(p, "TestS/docker", "--- FAIL: TestS/docker (1.00s)\n"),
				event{Action: "fail", Package: p, Test: "TestS/docker"},
				out(p, "TestS/podman", "    s_test.go:10: created in 4s\n"),
				event{Action: "pass", Package: p, Test: "TestS/podman"},
				out(p, "TestS", "--- FAIL: TestS (2.00s)\n"),
				event{Action: "fail", Package: p, Test: "TestS"},
				event{Action: "fail", Package: p}),
			wantFailed: true,
			want: []string{"=== failures", "--- FAIL: TestS/docker (example.com/e2e)", "s_test.go:10: created in 3s:",
				"line two of the log", "s_test.go:20: lookup tcp web-1 took 3s", "FAIL package example.com/e2e"},
			notWant: []string{"--- FAIL: TestS (example.com/e2e)", "created in 4s"},
		},
		{
			name: "a build failure (plain text) fails the package",
			in: "# example.com/e2e\n./x.go:1: undefined: y\n" +
				stream(event{Action: "fail", Package: p}),
			wantFailed: true,
			want:       []string{"FAIL package example.com/e2e"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			failed, err := report(strings.NewReader(tc.in), &b)
			if err != nil {
				t.Fatal(err)
			}
			if failed != tc.wantFailed {
				t.Errorf("failed = %v, want %v", failed, tc.wantFailed)
			}
			got := b.String()
			_, summary, _ := strings.Cut(got, "=== failures")
			rest := summary
			for _, w := range tc.want {
				i := strings.Index("=== failures"+rest, w)
				if i < 0 {
					t.Errorf("summary lacks %q (or not in order):\n%s", w, got)
					continue
				}
				rest = ("=== failures" + rest)[i+len(w):]
			}
			for _, w := range tc.notWant {
				if strings.Contains(summary, w) || (w == "=== failures" && strings.Contains(got, w)) {
					t.Errorf("summary holds %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestReportCopiesOutput(t *testing.T) {
	in := stream(out("p", "TestA", "=== RUN   TestA\n"), out("p", "TestA", "    a_test.go:3: hello\n"), out("p", "", "ok  \tp\t0.1s\n"))
	var b strings.Builder
	if _, err := report(strings.NewReader(in), &b); err != nil {
		t.Fatal(err)
	}
	if want := "=== RUN   TestA\n    a_test.go:3: hello\nok  \tp\t0.1s\n"; b.String() != want {
		t.Errorf("copied output %q, want %q", b.String(), want)
	}
}
