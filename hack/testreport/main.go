// Command testreport reads `go test -json` on stdin, prints the tests'
// output as `go test -v` would, and ends with the failed tests' own
// messages. CI keeps only the end of a long log: an e2e suite prints
// thousands of lines, and the lines that say why a test failed are
// printed when they happen, far from its end.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// event is the part of test2json's output this reads.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// perTestLines bounds what the summary prints of one failed test.
const perTestLines = 40

// messageStart is the first line of a t.Log or t.Error message: indented,
// then file_test.go:LINE: (test2json cannot tell Errorf from Logf).
var messageStart = regexp.MustCompile(`^\s+\S+_test\.go:\d+: `)

func main() {
	failed, err := report(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// report copies the output and appends the summary; it says whether any
// test or package failed.
func report(in io.Reader, out io.Writer) (bool, error) {
	type key struct{ pkg, test string }
	messages := map[key][]string{}
	inMessage := map[key]bool{}
	var failedTests []key
	var failedPkgs []string
	parents := map[key]bool{}

	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// go test prints build failures as plain text.
			fmt.Fprintln(out, sc.Text())
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "output":
			io.WriteString(out, e.Output)
			if e.Test == "" {
				continue
			}
			line := strings.TrimRight(e.Output, "\n")
			switch {
			case messageStart.MatchString(line):
				inMessage[k] = true
			case strings.HasPrefix(line, "=== ") || strings.HasPrefix(strings.TrimSpace(line), "--- "):
				inMessage[k] = false
			}
			if inMessage[k] {
				messages[k] = append(messages[k], line)
			}
		case "fail":
			if e.Test == "" {
				failedPkgs = append(failedPkgs, e.Package)
				continue
			}
			failedTests = append(failedTests, k)
			if i := strings.LastIndex(e.Test, "/"); i > 0 {
				parents[key{e.Package, e.Test[:i]}] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	if len(failedTests) == 0 && len(failedPkgs) == 0 {
		return false, nil
	}
	fmt.Fprintln(out, "\n=== failures: each failed test's last messages (its t.Log and t.Error lines) ===")
	for _, k := range failedTests {
		if parents[k] && len(messages[k]) == 0 {
			continue // failed because a subtest did: that one is listed
		}
		fmt.Fprintf(out, "--- FAIL: %s (%s)\n", k.test, k.pkg)
		lines := messages[k]
		if len(lines) > perTestLines {
			fmt.Fprintf(out, "    … %d earlier lines\n", len(lines)-perTestLines)
			lines = lines[len(lines)-perTestLines:]
		}
		for _, l := range lines {
			fmt.Fprintln(out, l)
		}
	}
	for _, p := range failedPkgs {
		fmt.Fprintf(out, "FAIL package %s\n", p)
	}
	return true, nil
}
