//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// stageLine matches kinc's progress line for a finished stage, nodesReady
// the wait stage's line for the moment every node was Ready.
var (
	stageLine  = regexp.MustCompile(`✓ (\S+)\s+([0-9.]+)s`)
	nodesReady = regexp.MustCompile(`all nodes Ready at ([0-9.]+)s`)
)

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkCluster creates and deletes the 1-node and the 1+2 cluster on
// each runtime KINC_BENCH_RUNS times (default 3) and prints the median time
// of every stage, of create and of delete. Run it with -benchtime=1x.
func BenchmarkCluster(b *testing.B) {
	runs := 3
	if v, err := strconv.Atoi(os.Getenv("KINC_BENCH_RUNS")); err == nil && v > 0 {
		runs = v
	}
	specs := []struct{ name, config string }{
		{"1-node", ""},
		{"1+2", "../../testdata/e2e/workers.toml"},
	}
	kinc := kincBinary(b)
	var table []string
	for _, rt := range runtimes {
		for _, s := range specs {
			b.Run(rt+"/"+s.name, func(b *testing.B) {
				stages := map[string][]time.Duration{}
				var order []string
				var creates, deletes, readies []time.Duration
				for i := 0; i < runs; i++ {
					name := "bench-" + rt[:3]
					kc := b.TempDir() + "/kubeconfig"
					run(b, time.Minute, kinc, "--provider", rt, "delete", "cluster", "--name", name)
					args := []string{"--provider", rt, "create", "cluster", "--name", name, "--wait", "3m", "--kubeconfig", kc}
					if s.config != "" {
						args = append(args, "--config", s.config)
					}
					start := time.Now()
					out, err := run(b, 6*time.Minute, kinc, args...)
					creates = append(creates, time.Since(start))
					if err != nil {
						b.Fatalf("create: %v\n%s", err, out)
					}
					m := nodesReady.FindStringSubmatch(out)
					if m == nil {
						b.Fatalf("no 'all nodes Ready' line in:\n%s", out)
					}
					sec, _ := strconv.ParseFloat(m[1], 64)
					readies = append(readies, time.Duration(sec*float64(time.Second)))
					for _, m := range stageLine.FindAllStringSubmatch(out, -1) {
						sec, _ := strconv.ParseFloat(m[2], 64)
						if _, seen := stages[m[1]]; !seen {
							order = append(order, m[1])
						}
						stages[m[1]] = append(stages[m[1]], time.Duration(sec*float64(time.Second)))
					}
					start = time.Now()
					if out, err := run(b, 2*time.Minute, kinc, "--provider", rt, "delete", "cluster", "--name", name, "--kubeconfig", kc); err != nil {
						b.Fatalf("delete: %v\n%s", err, out)
					}
					deletes = append(deletes, time.Since(start))
				}
				var cells []string
				for _, st := range order {
					cells = append(cells, fmt.Sprintf("%.1f", median(stages[st]).Seconds()))
				}
				row := fmt.Sprintf("| %s | %s | %s | **%.1f** | **%.1f** | %.1f |", rt, s.name, strings.Join(cells, " | "),
					median(readies).Seconds(), median(creates).Seconds(), median(deletes).Seconds())
				if len(table) == 0 {
					table = append(table,
						"| runtime | cluster | "+strings.Join(order, " | ")+" | nodes Ready | create | delete |",
						"|"+strings.Repeat(" --- |", len(order)+5))
				}
				table = append(table, row)
				b.ReportMetric(median(readies).Seconds(), "nodes-ready-s")
				b.ReportMetric(median(creates).Seconds(), "create-s")
				b.ReportMetric(median(deletes).Seconds(), "delete-s")
			})
		}
	}
	fmt.Printf("\nMedian seconds over %d runs. nodes Ready: from the start of create until every node is Ready;\n"+
		"create: until kinc returns, which with --wait includes every kube-system DaemonSet and Deployment available.\n\n%s\n\n",
		runs, strings.Join(table, "\n"))
}
