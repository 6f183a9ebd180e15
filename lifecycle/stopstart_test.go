package lifecycle

import (
	"slices"
	"testing"
	"time"
)

func TestStaleNodes(t *testing.T) {
	since := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	nodes := []*Node{{Name: "c-control-plane"}, {Name: "c-worker"}, {Name: "c-worker2"}}
	status := "c-control-plane True 2026-12-02T05:00:03Z\n" +
		"c-worker True 2026-12-02T04:58:00Z\n" + // the last heartbeat before the stop
		"c-worker2 False 2026-12-02T05:00:04Z\n"
	all := map[string]bool{"c-control-plane": true, "c-worker": true, "c-worker2": true}
	if got, want := staleNodes(status, nodes, all, since), []string{"c-worker", "c-worker2"}; !slices.Equal(got, want) {
		t.Errorf("staleNodes = %v, want %v", got, want)
	}
	// A node that kept running reports its status every few minutes only.
	if got, want := staleNodes(status, nodes, map[string]bool{"c-worker2": true}, since), []string{"c-worker2"}; !slices.Equal(got, want) {
		t.Errorf("staleNodes (c-worker kept running) = %v, want %v", got, want)
	}
	if got := staleNodes("c-control-plane True 2026-12-02T05:00:00Z\n", nodes[:1], all, since); len(got) != 0 {
		t.Errorf("a heartbeat in the second of since counts: got %v", got)
	}
	if got := staleNodes("", nodes[:1], all, since); !slices.Equal(got, []string{"c-control-plane"}) {
		t.Errorf("an unlisted node waits: got %v", got)
	}
}

func TestStalePods(t *testing.T) {
	since := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	status := "coredns-1 c-worker true,2026-12-02T05:00:09Z\n" +
		"etcd-c c-control-plane true,2026-12-02T04:10:00Z\n" + // still the status from before the stop
		"kincnet-x c-worker true,2026-12-02T05:00:07Z false,2026-12-02T05:00:08Z\n" +
		"kube-proxy-y c-worker false,\n" +
		"kube-proxy-old c-worker2 true,2026-12-02T04:10:00Z\n" + // on a node that kept running
		"pending-z\n"
	restarted := map[string]bool{"c-control-plane": true, "c-worker": true}
	want := []string{"etcd-c", "kincnet-x", "kube-proxy-y", "pending-z"}
	if got := stalePods(status, restarted, since); !slices.Equal(got, want) {
		t.Errorf("stalePods = %v, want %v", got, want)
	}
}

func TestNodeOrder(t *testing.T) {
	nodes := []*Node{
		{Name: "c-worker10", Role: "worker"}, {Name: "c-worker2", Role: "worker"}, {Name: "c-control-plane2", Role: "control-plane"},
		{Name: "c-worker", Role: "worker"}, {Name: "c-control-plane", Role: "control-plane"},
	}
	slices.SortStableFunc(nodes, func(a, b *Node) int {
		if nodeLess(a, b) {
			return -1
		}
		if nodeLess(b, a) {
			return 1
		}
		return 0
	})
	var got []string
	for _, n := range nodes {
		got = append(got, n.Name)
	}
	want := []string{"c-control-plane", "c-control-plane2", "c-worker", "c-worker2", "c-worker10"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}
