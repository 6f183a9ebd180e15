package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/kinc-dev/kinc/lifecycle"
	"github.com/kinc-dev/kinc/lifecycle/hostlimits"
	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// inotifyPool reads the inotify limits of the pool the nodes of rt draw
// from and counts the kinc nodes already drawing from it: as root, docker's
// and podman's nodes all run as root on the host and share one pool; a
// rootless runtime's nodes run as the user.
func inotifyPool(ctx context.Context, runner run.Runner, rt *providers.Runtime, host providers.Host) (hostlimits.Inotify, hostlimits.Nodes, error) {
	uid := 0
	if host.Rootless {
		uid = os.Getuid()
	}
	var running hostlimits.Nodes
	in, err := hostlimits.ReadInotify("/proc", uid)
	if err != nil {
		return in, running, err
	}
	runtimes := []*providers.Runtime{rt}
	if !host.Rootless {
		runtimes = nil
		for _, name := range providers.Names() {
			if other, err := providers.New(name, runner); err == nil {
				runtimes = append(runtimes, other)
			}
		}
	}
	for _, r := range runtimes {
		if cp, w, err := lifecycle.RunningNodes(ctx, r); err == nil {
			running.ControlPlanes += cp // a runtime that does not answer runs no nodes
			running.Workers += w
		}
	}
	return in, running, nil
}

// reportInotify is doctor's inotify line, and the fix when not even one
// more node fits.
func reportInotify(w io.Writer, in hostlimits.Inotify, running hostlimits.Nodes) {
	used := "in use: not countable here (ptrace rules), estimated from the running nodes"
	if in.Counted {
		used = fmt.Sprintf("in use: %d instances, %d watches", in.Instances, in.Watches)
	}
	fmt.Fprintf(w, "inotify:         max_user_instances=%d max_user_watches=%d for uid %d; %s; running: %s; room for %d more 1-node cluster(s) (a control plane takes ~%d instances, a worker ~%d)\n",
		in.MaxInstances, in.MaxWatches, in.UID, used, running, in.Room(running), hostlimits.InstancesPerControlPlane, hostlimits.InstancesPerWorker)
	if in.Room(running) < 3 {
		fmt.Fprintf(w, "inotify fix:     %s\n", in.Fix())
	}
}
