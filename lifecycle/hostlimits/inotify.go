// Package hostlimits reads the host kernel limits that clusters run into
// long after they were created, so that kinc can check them first:
// inotify instances and watches, which every node's kubelet, containerd,
// systemd and kube-proxy take from one per-user pool on the host.
package hostlimits

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Per node, what a running kinc node takes from its user's inotify pool,
// measured on this project's CI host (Debian 12, kernel 6.18) with a
// control plane and workers running: the most any node took, rounded up.
const (
	InstancesPerNode = 24
	WatchesPerNode   = 1200
)

// The values the fix sets, when the current ones are lower.
const (
	FixInstances = 1024
	FixWatches   = 524288
)

// Inotify is the host's inotify limits and what one user uses of them.
type Inotify struct {
	MaxInstances, MaxWatches int
	// UID is the user whose processes were counted (the user node
	// processes run as on the host: root, or a rootless runtime's user).
	UID int
	// Instances and Watches in use by UID; Counted is false when the
	// processes could not be read (not root), and then they are unknown.
	Instances, Watches int
	Counted            bool
}

// ReadInotify reads the limits under procRoot (/proc) and counts the
// inotify instances and watches held by processes of uid.
func ReadInotify(procRoot string, uid int) (Inotify, error) {
	in := Inotify{UID: uid}
	var err error
	if in.MaxInstances, err = readInt(filepath.Join(procRoot, "sys/fs/inotify/max_user_instances")); err != nil {
		return in, err
	}
	if in.MaxWatches, err = readInt(filepath.Join(procRoot, "sys/fs/inotify/max_user_watches")); err != nil {
		return in, err
	}
	in.Instances, in.Watches, in.Counted = count(procRoot, uid)
	return in, nil
}

func readInt(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read inotify limit: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("read inotify limit %s: %w", path, err)
	}
	return n, nil
}

// count walks every process of uid: each fd that is an inotify instance,
// and the "inotify wd:" lines (watches) of its fdinfo. A process whose fds
// cannot be read (ptrace rules; not root) makes the count unknown.
func count(procRoot string, uid int) (instances, watches int, ok bool) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return 0, 0, false
	}
	ok = true
	for _, e := range entries {
		pid := e.Name()
		if _, err := strconv.Atoi(pid); err != nil {
			continue
		}
		if owner, err := realUID(filepath.Join(procRoot, pid, "status")); err != nil || owner != uid {
			continue
		}
		fds, err := os.ReadDir(filepath.Join(procRoot, pid, "fd"))
		if err != nil {
			if os.IsPermission(err) {
				ok = false
			}
			continue
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(procRoot, pid, "fd", fd.Name()))
			if os.IsPermission(err) {
				ok = false // ptrace rules hide this process's fds
			}
			if err != nil || target != "anon_inode:inotify" {
				continue
			}
			instances++
			info, err := os.ReadFile(filepath.Join(procRoot, pid, "fdinfo", fd.Name()))
			if err == nil {
				watches += bytes.Count(info, []byte("inotify wd:"))
			}
		}
	}
	return instances, watches, ok
}

func realUID(statusFile string) (int, error) {
	f, err := os.Open(statusFile)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, found := strings.CutPrefix(s.Text(), "Uid:"); found {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				return strconv.Atoi(fields[0])
			}
		}
	}
	return 0, fmt.Errorf("%s: no Uid line", statusFile)
}

// Room is how many more nodes fit in what is left (of the tighter of the
// two limits). When the use could not be counted, running nodes are
// assumed to take the per-node amounts.
func (in Inotify) Room(runningNodes int) int {
	usedI, usedW := in.Instances, in.Watches
	if !in.Counted {
		usedI, usedW = runningNodes*InstancesPerNode, runningNodes*WatchesPerNode
	}
	room := (in.MaxInstances - usedI) / InstancesPerNode
	if w := (in.MaxWatches - usedW) / WatchesPerNode; w < room {
		room = w
	}
	if room < 0 {
		return 0
	}
	return room
}

// Check says whether newNodes more nodes fit; the error carries the exact
// fix: the sysctl to run now and the file that keeps it across reboots.
func (in Inotify) Check(runningNodes, newNodes int) error {
	if in.Room(runningNodes) >= newNodes {
		return nil
	}
	return &LimitError{In: in, RunningNodes: runningNodes, NewNodes: newNodes}
}

// LimitError is a host whose inotify limits are too low for the cluster.
type LimitError struct {
	In                     Inotify
	RunningNodes, NewNodes int
}

func (e *LimitError) Error() string {
	in := e.In
	used := "unknown (not counted)"
	if in.Counted {
		used = fmt.Sprintf("%d instances and %d watches in use", in.Instances, in.Watches)
	}
	return fmt.Sprintf("inotify limits too low: %d more node(s) need about %d instances and %d watches, "+
		"the host allows uid %d %d instances and %d watches (fs.inotify.max_user_instances, max_user_watches), %s, "+
		"with %d kinc node(s) running; the nodes would come up and then fail (kube-proxy: \"too many open files\").\n"+
		"Fix: %s",
		e.NewNodes, e.NewNodes*InstancesPerNode, e.NewNodes*WatchesPerNode, in.UID, in.MaxInstances, in.MaxWatches, used, e.RunningNodes, in.Fix())
}

// Fix is the commands that raise the limits now and at every boot.
func (in Inotify) Fix() string {
	instances, watches := max(in.MaxInstances, FixInstances), max(in.MaxWatches, FixWatches)
	return fmt.Sprintf("sysctl -w fs.inotify.max_user_instances=%d fs.inotify.max_user_watches=%d && "+
		"printf 'fs.inotify.max_user_instances=%d\\nfs.inotify.max_user_watches=%d\\n' > /etc/sysctl.d/99-kinc-inotify.conf",
		instances, watches, instances, watches)
}
