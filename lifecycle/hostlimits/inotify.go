// Package hostlimits reads the host kernel limits and features that
// clusters run into long after they were created, so that kinc can check
// them first: inotify instances and watches, which every node's kubelet,
// containerd, systemd and kube-proxy take from one per-user pool on the
// host, and IPVS for kube-proxy's ipvs mode.
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

// What a running kinc node takes from its user's inotify pool, measured on
// this project's CI host (Debian 12, kernel 6.18, a 1+1 cluster Ready: the
// control plane 29 instances and 287 watches — kubelet 7, controller manager
// 7, API server 6, systemd 5; the worker 16 and 160), with room to grow.
const (
	InstancesPerControlPlane = 32
	InstancesPerWorker       = 20
	WatchesPerControlPlane   = 400
	WatchesPerWorker         = 250
)

// Nodes counts nodes by role.
type Nodes struct{ ControlPlanes, Workers int }

// Instances is what the nodes take from the instance limit.
func (n Nodes) Instances() int {
	return n.ControlPlanes*InstancesPerControlPlane + n.Workers*InstancesPerWorker
}

// Watches is what the nodes take from the watch limit.
func (n Nodes) Watches() int {
	return n.ControlPlanes*WatchesPerControlPlane + n.Workers*WatchesPerWorker
}

func (n Nodes) String() string {
	return fmt.Sprintf("%d control plane(s) and %d worker(s)", n.ControlPlanes, n.Workers)
}

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

// Free is what is left of the two limits. When the use could not be
// counted, the running nodes are taken to use the per-node amounts.
func (in Inotify) Free(running Nodes) (instances, watches int) {
	usedI, usedW := in.Instances, in.Watches
	if !in.Counted {
		usedI, usedW = running.Instances(), running.Watches()
	}
	return in.MaxInstances - usedI, in.MaxWatches - usedW
}

// Room is how many more 1-node clusters (control planes) fit.
func (in Inotify) Room(running Nodes) int {
	i, w := in.Free(running)
	return max(0, min(i/InstancesPerControlPlane, w/WatchesPerControlPlane))
}

// Check says whether adding fits next to running; the error carries the
// exact fix: the sysctl to run now and the file that keeps it across reboots.
func (in Inotify) Check(running, adding Nodes) error {
	if i, w := in.Free(running); adding.Instances() <= i && adding.Watches() <= w {
		return nil
	}
	return &LimitError{In: in, Running: running, Adding: adding}
}

// LimitError is a host whose inotify limits are too low for the cluster.
type LimitError struct {
	In              Inotify
	Running, Adding Nodes
}

func (e *LimitError) Error() string {
	in := e.In
	used := fmt.Sprintf("%s of kinc running (about %d instances and %d watches; the use itself cannot be counted here)",
		e.Running, e.Running.Instances(), e.Running.Watches())
	if in.Counted {
		used = fmt.Sprintf("%d instances and %d watches in use", in.Instances, in.Watches)
	}
	return fmt.Sprintf("inotify limits too low: %s need about %d instances and %d watches; "+
		"the host allows uid %d %d instances and %d watches (fs.inotify.max_user_instances, max_user_watches), with %s: "+
		"the nodes would come up and then fail (kube-proxy: \"too many open files\").\n"+
		"Fix: %s",
		e.Adding, e.Adding.Instances(), e.Adding.Watches(), in.UID, in.MaxInstances, in.MaxWatches, used, in.Fix())
}

// Fix is the commands that raise the limits now and at every boot.
func (in Inotify) Fix() string {
	instances, watches := max(in.MaxInstances, FixInstances), max(in.MaxWatches, FixWatches)
	return fmt.Sprintf("sysctl -w fs.inotify.max_user_instances=%d fs.inotify.max_user_watches=%d && "+
		"printf 'fs.inotify.max_user_instances=%d\\nfs.inotify.max_user_watches=%d\\n' > /etc/sysctl.d/99-kinc-inotify.conf",
		instances, watches, instances, watches)
}
