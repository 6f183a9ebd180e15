//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkDay2 times, on a 1+2 cluster of each runtime, KINC_BENCH_RUNS
// times (default 3): kinc load image of a ~100 MB image into every node,
// beside the by-hand `save | ctr import` into one node (the figure to beat);
// kinc stop cluster and kinc start cluster --wait; kinc create node (until
// Ready) and kinc delete node. It prints the medians.
func BenchmarkDay2(b *testing.B) {
	runs := 3
	if v, err := strconv.Atoi(os.Getenv("KINC_BENCH_RUNS")); err == nil && v > 0 {
		runs = v
	}
	kinc := kincBinary(b)
	table := []string{
		"| runtime | load image, 3 nodes | save \\| ctr import, 1 node | stop | start: all nodes Ready | start --wait | create node | delete node |",
		"| --- | --- | --- | --- | --- | --- | --- | --- |",
	}
	for _, rt := range runtimes {
		b.Run(rt, func(b *testing.B) {
			name := "bench-" + rt[:3] + "-day2"
			kc := b.TempDir() + "/kubeconfig"
			k := func(args ...string) (string, error) {
				return run(b, 6*time.Minute, kinc, append([]string{"--provider", rt}, args...)...)
			}
			k("delete", "cluster", "--name", name)
			if out, err := k("create", "cluster", "--name", name, "--config", "../../testdata/e2e/workers.toml", "--wait", "3m", "--kubeconfig", kc); err != nil {
				b.Fatalf("create: %v\n%s", err, out)
			}
			defer k("delete", "cluster", "--name", name, "--kubeconfig", kc)
			image := "kinc.bench/load:100m"
			buildBenchImage(b, rt, image, 100<<20)
			nodes := []string{name + "-control-plane", name + "-worker", name + "-worker2"}
			forget := func(nodes ...string) {
				for _, n := range nodes {
					run(b, time.Minute, rt, "exec", n, "ctr", "-n", "k8s.io", "images", "rm", "--sync", image)
				}
			}
			timed := func(what string, fn func() (string, error)) time.Duration {
				start := time.Now()
				out, err := fn()
				if err != nil {
					b.Fatalf("%s: %v\n%s", what, err, out)
				}
				return time.Since(start)
			}
			var loads, byHand, stops, ready, starts, adds, removes []time.Duration
			for i := 0; i < runs; i++ {
				forget(nodes...)
				loads = append(loads, timed("kinc load image", func() (string, error) { return k("load", "image", "--name", name, image) }))
				forget(nodes[0])
				byHand = append(byHand, timed("save | ctr import", func() (string, error) {
					return run(b, 6*time.Minute, "sh", "-c", `"$1" save "$2" | "$1" exec -i "$3" ctr -n k8s.io images import -`, "sh", rt, image, nodes[0])
				}))
				stops = append(stops, timed("kinc stop cluster", func() (string, error) { return k("stop", "cluster", "--name", name) }))
				var started string
				starts = append(starts, timed("kinc start cluster", func() (string, error) {
					out, err := k("start", "cluster", "--name", name, "--wait", "3m")
					started = out
					return out, err
				}))
				// start's own measure, from its first step: the target's figure.
				m := regexp.MustCompile(`all nodes Ready again at ([0-9.]+)s`).FindStringSubmatch(started)
				if m == nil {
					b.Fatalf("kinc start cluster did not say when every node was Ready:\n%s", started)
				}
				sec, _ := strconv.ParseFloat(m[1], 64)
				ready = append(ready, time.Duration(sec*float64(time.Second)))
				var joined string
				adds = append(adds, timed("kinc create node", func() (string, error) {
					out, err := k("create", "node", "--name", name)
					joined = out
					return out, err
				}))
				// The new node takes the lowest free name: worker3 every run.
				m = regexp.MustCompile(`Node (\S+) joined`).FindStringSubmatch(joined)
				if m == nil {
					b.Fatalf("kinc create node did not name the node it made:\n%s", joined)
				}
				added := m[1]
				removes = append(removes, timed("kinc delete node", func() (string, error) { return k("delete", "node", added) }))
			}
			table = append(table, fmt.Sprintf("| %s | **%.1f** | %.1f | %.1f | **%.1f** | %.1f | **%.1f** | %.1f |", rt,
				median(loads).Seconds(), median(byHand).Seconds(), median(stops).Seconds(), median(ready).Seconds(), median(starts).Seconds(),
				median(adds).Seconds(), median(removes).Seconds()))
			b.ReportMetric(median(loads).Seconds(), "load-s")
			b.ReportMetric(median(ready).Seconds(), "start-ready-s")
			b.ReportMetric(median(starts).Seconds(), "start-s")
			b.ReportMetric(median(adds).Seconds(), "create-node-s")
		})
	}
	fmt.Printf("\nMedian seconds over %d runs on a 1+2 cluster; the image is %d MiB of random data (uncompressible).\n"+
		"start: all nodes Ready is start's own figure (from its first step until every node is Ready again); start --wait: the whole\n"+
		"command, until the kube-system pods run again too; create node: until the node is Ready.\n\n%s\n\n",
		runs, 100, strings.Join(table, "\n"))
}

// buildBenchImage makes an image of about size bytes in the runtime's store.
func buildBenchImage(b *testing.B, runtime, name string, size int) {
	dir := b.TempDir()
	if out, err := run(b, time.Minute, "sh", "-c", `mkdir -p "$1/rootfs/etc" && head -c "$2" /dev/urandom > "$1/rootfs/blob" && tar -C "$1/rootfs" -cf "$1/rootfs.tar" .`, "sh", dir, strconv.Itoa(size)); err != nil {
		b.Fatalf("bench image rootfs: %v\n%s", err, out)
	}
	if out, err := run(b, 2*time.Minute, runtime, "import", dir+"/rootfs.tar", name); err != nil {
		b.Fatalf("%s import: %v\n%s", runtime, err, out)
	}
	b.Cleanup(func() { run(b, time.Minute, runtime, "rmi", name) })
}
