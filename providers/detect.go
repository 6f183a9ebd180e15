package providers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/kinc-dev/kinc/providers/run"
)

// Timeouts of the commands that find out whether a runtime works. A runtime
// that does not answer within them is reported as silent, never waited for.
const (
	probeTimeout = 15 * time.Second
	infoTimeout  = 30 * time.Second
)

// system is the machine kinc runs on as detection reads it: its files
// (/proc, /sys) and environment. Tests replace it.
type system struct {
	// root is the file system at "/".
	root   fs.FS
	getenv func(string) string
	// firewall: kinc may edit the host's iptables (root, iptables present).
	firewall bool
}

func localSystem() system {
	_, err := exec.LookPath("iptables")
	return system{root: os.DirFS("/"), getenv: os.Getenv, firewall: os.Geteuid() == 0 && err == nil}
}

func (s system) read(name string) (string, error) {
	b, err := fs.ReadFile(s.root, strings.TrimPrefix(name, "/"))
	return string(b), err
}

// capNames are the Linux capabilities by number (capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// essentialCaps are capabilities a node cannot do without (mounts and
// systemd; iptables and CNI), whatever run options it gets.
var essentialCaps = []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN"}

// Detect finds out what this runtime and host allow: the runtime's version,
// rootless or not, the cgroup version, the capabilities missing from the
// bounding set that matters, whether `run --privileged` works, the ulimit
// ceilings and the reasons clusters cannot run here.
func (rt *Runtime) Detect(ctx context.Context) (Host, error) {
	d := rt.dialect
	host := Host{Runtime: d.name}
	c := rt.cmd("info", "--format", d.infoFormat)
	c.Timeout = rt.scaled(infoTimeout)
	c.ReadOnly = true
	out, err := rt.runner.Run(ctx, c)
	if err != nil {
		return host, &UnavailableError{Runtime: d.name, Reason: d.explain(err), Err: err}
	}
	fields, err := d.splitInfo(out, strings.Count(d.infoFormat, "\t")+1)
	if err != nil {
		return host, err
	}
	info, err := d.parseInfo(fields)
	if err != nil {
		return host, err
	}
	host.Version = info.Version
	host.Rootless = info.Rootless
	host.CgroupVersion = info.CgroupVersion
	if host.CgroupVersion == 0 {
		host.CgroupVersion = rt.sys.cgroupVersion()
	}

	pid, from := "self", "kinc's own process"
	if d.capsFromDaemon {
		if p, ok := rt.sys.daemonPID(); ok {
			pid, from = strconv.Itoa(p), fmt.Sprintf("dockerd (pid %d)", p)
		}
	}
	host.CapsFrom = from
	missing, err := rt.sys.missingCaps(pid)
	if err != nil {
		// Without /proc (a remote daemon, another OS) assume a full set:
		// `run` will say so if it is not.
		host.CapsFrom = fmt.Sprintf("unknown (%v)", err)
	}
	host.MissingCaps = missing
	host.PrivilegedWorks = !d.privilegedNeedsAllCaps || len(missing) == 0

	if d.setsUlimits {
		host.NofileLimit, host.NprocLimit, err = rt.sys.ulimitCeilings()
		if err != nil {
			return host, fmt.Errorf("%s needs explicit ulimits and kinc cannot read this host's: %w", d.name, err)
		}
	}
	host.StorageDriver = info.StorageDriver
	host.Problems = problems(host, info)
	host.Warnings = warnings(host)
	return host, nil
}

// warnings are the reasons clusters will run badly on host, each with its fix.
func warnings(host Host) []string {
	var res []string
	if host.StorageDriver == "vfs" {
		fix := "use the overlay driver: install fuse-overlayfs (and, on Debian and Ubuntu, containers-storage), " +
			`set driver = "overlay" under [storage] in ` + podmanStorageConf(host) + ", then run `podman system reset` (it deletes every image and container of this store)"
		if host.Runtime == "docker" {
			fix = `use the overlay2 driver: set "storage-driver": "overlay2" in /etc/docker/daemon.json (~/.config/docker/daemon.json when rootless) and restart docker (images and containers of the vfs store are no longer seen)`
		}
		res = append(res, fmt.Sprintf("%s stores images with the vfs driver: every node container is a full copy of the node image (about 1 GB each, and slow to create); %s.",
			host.Runtime, fix))
	}
	return res
}

// podmanStorageConf is the storage.conf podman reads on host.
func podmanStorageConf(host Host) string {
	if host.Rootless {
		return "~/.config/containers/storage.conf"
	}
	return "/etc/containers/storage.conf"
}

// problems are the reasons clusters cannot run on host, each with its fix.
func problems(host Host, info hostInfo) []string {
	var res []string
	if host.Rootless {
		switch {
		case host.CgroupVersion == 1:
			res = append(res, fmt.Sprintf("rootless clusters need a cgroup v2 host with systemd delegation (Delegate=yes) and this host runs cgroup v1: "+
				"boot it with systemd.unified_cgroup_hierarchy=1 on the kernel command line, or run kinc and %s as root.", host.Runtime))
		case len(info.Undelegated) > 0:
			res = append(res, fmt.Sprintf("rootless clusters need the cpu, memory and pids cgroup controllers delegated to your user and %s cannot use %s: "+
				"as root, write \"[Service]\\nDelegate=yes\" to /etc/systemd/system/user@.service.d/delegate.conf, run systemctl daemon-reload and log in again.",
				host.Runtime, strings.Join(info.Undelegated, ", ")))
		}
	}
	var lost []string
	for _, c := range host.MissingCaps {
		for _, e := range essentialCaps {
			if c == e {
				lost = append(lost, c)
			}
		}
	}
	if len(lost) > 0 {
		res = append(res, fmt.Sprintf("node containers need %s, which the capability bounding set of %s lacks: "+
			"run %s from a process tree that has it (a root login, or a container started with --privileged).",
			strings.Join(lost, " and "), host.CapsFrom, host.Runtime))
	}
	return res
}

// cgroupVersion tells from /sys/fs/cgroup whether the host runs the unified
// hierarchy (2) or not (1).
func (s system) cgroupVersion() int {
	if _, err := fs.Stat(s.root, "sys/fs/cgroup/cgroup.controllers"); err == nil {
		return 2
	}
	return 1
}

// daemonPID finds the local dockerd serving the CLI: the pid file beside its
// socket, else the only dockerd process. It reports false for a remote
// daemon.
func (s system) daemonPID() (int, bool) {
	sock := "/var/run/docker.sock"
	if h := s.getenv("DOCKER_HOST"); h != "" {
		if !strings.HasPrefix(h, "unix://") {
			return 0, false
		}
		sock = strings.TrimPrefix(h, "unix://")
	}
	if p, err := s.read(path.Join(path.Dir(sock), "docker.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(p)); err == nil && s.comm(pid) == "dockerd" {
			return pid, true
		}
	}
	entries, err := fs.ReadDir(s.root, "proc")
	if err != nil {
		return 0, false
	}
	var found []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s.comm(pid) == "dockerd" {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		return 0, false
	}
	return found[0], true
}

func (s system) comm(pid int) string {
	c, _ := s.read(fmt.Sprintf("proc/%d/comm", pid))
	return strings.TrimSpace(c)
}

// missingCaps names the capabilities the kernel knows that are absent from
// the bounding set of process pid ("self" or a number).
func (s system) missingCaps(pid string) ([]string, error) {
	status, err := s.read("proc/" + pid + "/status")
	if err != nil {
		return nil, err
	}
	var bnd uint64
	found := false
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			bnd, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return nil, fmt.Errorf("/proc/%s/status: CapBnd %q: %w", pid, strings.TrimSpace(v), err)
			}
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("/proc/%s/status has no CapBnd line", pid)
	}
	last := len(capNames) - 1
	if v, err := s.read("proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n < last {
			last = n
		}
	}
	var missing []string
	for i := 0; i <= last; i++ {
		if bnd&(1<<i) == 0 {
			missing = append(missing, capNames[i])
		}
	}
	return missing, nil
}

// ulimitCeilings returns the highest nofile and nproc limits a container
// started by this process may get: the hard limits of this process, nofile
// also bounded by fs.nr_open and nproc by kernel.pid_max.
func (s system) ulimitCeilings() (nofile, nproc uint64, err error) {
	limits, err := s.read("proc/self/limits")
	if err != nil {
		return 0, 0, err
	}
	nofile, err = hardLimit(limits, "Max open files")
	if err != nil {
		return 0, 0, err
	}
	nproc, err = hardLimit(limits, "Max processes")
	if err != nil {
		return 0, 0, err
	}
	if v, err := s.readUint("proc/sys/fs/nr_open"); err == nil {
		nofile = min(nofile, v)
	}
	pidMax, err := s.readUint("proc/sys/kernel/pid_max")
	if err != nil {
		return 0, 0, err
	}
	return nofile, min(nproc, pidMax), nil
}

func (s system) readUint(name string) (uint64, error) {
	v, err := s.read(name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/%s: %w", name, err)
	}
	return n, nil
}

// hardLimit reads one hard limit from /proc/<pid>/limits ("unlimited" is
// the largest value).
func hardLimit(limits, name string) (uint64, error) {
	for _, l := range strings.Split(limits, "\n") {
		rest, ok := strings.CutPrefix(l, name)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			break
		}
		if f[1] == "unlimited" {
			return math.MaxUint64, nil
		}
		n, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/self/limits: %s: %w", name, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("/proc/self/limits has no %q line", name)
}

// explain turns a failed probe of the runtime into one sentence saying why
// it does not answer and how to fix that.
func (d dialect) explain(err error) string {
	var (
		notFound = errors.Is(err, exec.ErrNotFound)
		timedOut = errors.Is(err, context.DeadlineExceeded)
	)
	switch {
	case notFound:
		return fmt.Sprintf("%s is not installed: apt-get install %s", d.name, d.pkg())
	case timedOut:
		return fmt.Sprintf("%s is installed but does not answer in time: %s", d.name, d.startHint)
	case d.capsFromDaemon:
		return fmt.Sprintf("%s is installed but its daemon does not answer: %s%s", d.name, d.startHint, outputHint(err))
	default:
		return fmt.Sprintf("%s is installed but does not answer: %s%s", d.name, d.startHint, outputHint(err))
	}
}

// pkg is the Debian package that installs the runtime.
func (d dialect) pkg() string {
	if d.name == "docker" {
		return "docker.io"
	}
	return d.name
}

// outputHint quotes the first line of what a failed command said.
func outputHint(err error) string {
	var e *run.Error
	if !errors.As(err, &e) || strings.TrimSpace(e.Output) == "" {
		return ""
	}
	first := strings.SplitN(strings.TrimSpace(e.Output), "\n", 2)[0]
	return fmt.Sprintf(" (it said: %s)", first)
}
