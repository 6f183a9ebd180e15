package providers

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kinc-dev/kinc/providers/run"
)

// capBnd is a CapBnd value (41 capabilities) without the ones named.
func capBnd(without ...string) string {
	var m uint64 = 1<<len(capNames) - 1
	for _, n := range without {
		for i, c := range capNames {
			if c == n {
				m &^= 1 << i
			}
		}
	}
	return fmt.Sprintf("%016x", m)
}

const limitsFile = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max processes             96365                96365                processes
Max open files            1024                 20000                files
Max locked memory         8388608              8388608              bytes
`

// machine is a fake host: this kind of machine (cgroup v1, no
// CAP_SYS_RESOURCE, low hard limits) unless changed.
func machine(mod func(fstest.MapFS)) system {
	files := fstest.MapFS{
		"proc/self/status":             {Data: []byte("Name:\tkinc\nCapInh:\t0000000000000000\nCapBnd:\t" + capBnd("CAP_SYS_RESOURCE") + "\n")},
		"proc/self/limits":             {Data: []byte(limitsFile)},
		"proc/sys/kernel/cap_last_cap": {Data: []byte("40\n")},
		"proc/sys/kernel/pid_max":      {Data: []byte("32768\n")},
		"proc/sys/fs/nr_open":          {Data: []byte("1048576\n")},
		"proc/4867/comm":               {Data: []byte("dockerd\n")},
		"proc/4867/status":             {Data: []byte("Name:\tdockerd\nCapBnd:\t" + capBnd("CAP_SYS_RESOURCE") + "\n")},
		"proc/100/comm":                {Data: []byte("bash\n")},
		"var/run/docker.pid":           {Data: []byte("4867")},
		"sys/fs/cgroup/unified":        {},
	}
	if mod != nil {
		mod(files)
	}
	return system{root: files, getenv: func(string) string { return "" }}
}

func TestDetect(t *testing.T) {
	dockerInfoDriver := func(secOpts, cgroup string, delegated bool, driver string) string {
		d := fmt.Sprint(delegated)
		return `"20.10.24+dfsg1"` + "\t" + secOpts + "\t" + cgroup + "\t" + d + "\t" + d + "\t" + d + "\t" + driver + "\n"
	}
	dockerInfo := func(secOpts, cgroup string, delegated bool) string {
		return dockerInfoDriver(secOpts, cgroup, delegated, `"overlay2"`)
	}
	podmanInfoDriver := func(rootless bool, cgroup, controllers, driver string) string {
		return fmt.Sprintf("\"4.3.1\"\t%v\t%s\t%s\t%s\n", rootless, cgroup, controllers, driver)
	}
	podmanInfo := func(rootless bool, cgroup, controllers string) string {
		return podmanInfoDriver(rootless, cgroup, controllers, `"overlay"`)
	}
	tests := []struct {
		name    string
		runtime string
		info    string
		sys     system
		want    Host
		// problem is a substring every expected problem has, in order.
		problems []string
		// warnings: the same for the warnings.
		warnings []string
	}{
		{
			name:    "docker on this machine: dockerd lacks CAP_SYS_RESOURCE",
			runtime: "docker",
			info:    dockerInfo(`["name=seccomp,profile=default"]`, `"1"`, true),
			sys:     machine(nil),
			want: Host{Runtime: "docker", StorageDriver: "overlay2", Version: "20.10.24+dfsg1", CgroupVersion: 1,
				MissingCaps: []string{"CAP_SYS_RESOURCE"}, CapsFrom: "dockerd (pid 4867)"},
		},
		{
			name:    "docker with a full bounding set runs privileged",
			runtime: "docker",
			info:    dockerInfo(`["name=seccomp,profile=default","name=cgroupns"]`, `"2"`, true),
			sys: machine(func(f fstest.MapFS) {
				f["proc/4867/status"] = &fstest.MapFile{Data: []byte("CapBnd:\t" + capBnd() + "\n")}
			}),
			want: Host{Runtime: "docker", StorageDriver: "overlay2", Version: "20.10.24+dfsg1", CgroupVersion: 2, PrivilegedWorks: true, CapsFrom: "dockerd (pid 4867)"},
		},
		{
			name:    "docker: only the kernel's capabilities count",
			runtime: "docker",
			info:    dockerInfo(`[]`, `"2"`, true),
			sys: machine(func(f fstest.MapFS) {
				f["proc/sys/kernel/cap_last_cap"] = &fstest.MapFile{Data: []byte("37\n")}
				f["proc/4867/status"] = &fstest.MapFile{Data: []byte("CapBnd:\t0000003fffffffff\n")}
			}),
			want: Host{Runtime: "docker", StorageDriver: "overlay2", Version: "20.10.24+dfsg1", CgroupVersion: 2, PrivilegedWorks: true, CapsFrom: "dockerd (pid 4867)"},
		},
		{
			name:    "docker without a pid file finds the only dockerd",
			runtime: "docker",
			info:    dockerInfo(`[]`, `"1"`, true),
			sys: machine(func(f fstest.MapFS) {
				delete(f, "var/run/docker.pid")
				f["proc/4867/status"] = &fstest.MapFile{Data: []byte("CapBnd:\t" + capBnd("CAP_SYS_RESOURCE", "CAP_SYS_ADMIN") + "\n")}
			}),
			want: Host{Runtime: "docker", StorageDriver: "overlay2", Version: "20.10.24+dfsg1", CgroupVersion: 1,
				MissingCaps: []string{"CAP_SYS_ADMIN", "CAP_SYS_RESOURCE"}, CapsFrom: "dockerd (pid 4867)"},
			problems: []string{"node containers need CAP_SYS_ADMIN, which the capability bounding set of dockerd (pid 4867) lacks"},
		},
		{
			name:    "docker with a remote daemon uses kinc's own bounding set",
			runtime: "docker",
			info:    dockerInfo(`[]`, `"2"`, true),
			sys: func() system {
				s := machine(func(f fstest.MapFS) {
					f["proc/self/status"] = &fstest.MapFile{Data: []byte("CapBnd:\t" + capBnd() + "\n")}
				})
				s.getenv = func(k string) string {
					if k == "DOCKER_HOST" {
						return "tcp://10.0.0.1:2376"
					}
					return ""
				}
				return s
			}(),
			want: Host{Runtime: "docker", StorageDriver: "overlay2", Version: "20.10.24+dfsg1", CgroupVersion: 2, PrivilegedWorks: true, CapsFrom: "kinc's own process"},
		},
		{
			name:    "docker without CgroupVersion reads the host",
			runtime: "docker",
			info:    dockerInfo(`[]`, `""`, true),
			sys: machine(func(f fstest.MapFS) {
				f["sys/fs/cgroup/cgroup.controllers"] = &fstest.MapFile{Data: []byte("cpu memory pids\n")}
			}),
			want: Host{Runtime: "docker", StorageDriver: "overlay2", Version: "20.10.24+dfsg1", CgroupVersion: 2,
				MissingCaps: []string{"CAP_SYS_RESOURCE"}, CapsFrom: "dockerd (pid 4867)"},
		},
		{
			name:    "rootless docker on cgroup v1",
			runtime: "docker",
			info:    dockerInfo(`["name=seccomp,profile=default","name=rootless"]`, `"1"`, false),
			sys:     machine(nil),
			want: Host{Runtime: "docker", StorageDriver: "overlay2", Version: "20.10.24+dfsg1", Rootless: true, CgroupVersion: 1,
				MissingCaps: []string{"CAP_SYS_RESOURCE"}, CapsFrom: "dockerd (pid 4867)"},
			problems: []string{"rootless clusters need a cgroup v2 host with systemd delegation (Delegate=yes) and this host runs cgroup v1"},
		},
		{
			name:    "rootless docker on cgroup v2 without delegation",
			runtime: "docker",
			info:    dockerInfo(`["name=rootless"]`, `"2"`, false),
			sys: machine(func(f fstest.MapFS) {
				f["proc/4867/status"] = &fstest.MapFile{Data: []byte("CapBnd:\t" + capBnd() + "\n")}
			}),
			want:     Host{Runtime: "docker", StorageDriver: "overlay2", Version: "20.10.24+dfsg1", Rootless: true, CgroupVersion: 2, PrivilegedWorks: true, CapsFrom: "dockerd (pid 4867)"},
			problems: []string{"docker cannot use cpu, memory, pids: as root, write \"[Service]\\nDelegate=yes\""},
		},
		{
			name:    "podman on this machine: privileged works, ulimits at the ceilings",
			runtime: "podman",
			info:    podmanInfo(false, `"v1"`, `["cpuset","cpu","memory","pids"]`),
			sys:     machine(nil),
			want: Host{Runtime: "podman", StorageDriver: "overlay", Version: "4.3.1", CgroupVersion: 1, PrivilegedWorks: true,
				MissingCaps: []string{"CAP_SYS_RESOURCE"}, CapsFrom: "kinc's own process", NofileLimit: 20000, NprocLimit: 32768},
		},
		{
			name:    "podman: nproc below pid_max, unlimited nofile bounded by nr_open",
			runtime: "podman",
			info:    podmanInfo(false, `"v2"`, `["cpu","memory","pids"]`),
			sys: machine(func(f fstest.MapFS) {
				f["proc/self/limits"] = &fstest.MapFile{Data: []byte("Max processes  4096  8192  processes\nMax open files  1024  unlimited  files\n")}
				f["proc/sys/kernel/pid_max"] = &fstest.MapFile{Data: []byte("4194304\n")}
			}),
			want: Host{Runtime: "podman", StorageDriver: "overlay", Version: "4.3.1", CgroupVersion: 2, PrivilegedWorks: true,
				MissingCaps: []string{"CAP_SYS_RESOURCE"}, CapsFrom: "kinc's own process", NofileLimit: 1048576, NprocLimit: 8192},
		},
		{
			name:    "rootless podman on cgroup v1",
			runtime: "podman",
			info:    podmanInfo(true, `"v1"`, `[]`),
			sys:     machine(nil),
			want: Host{Runtime: "podman", StorageDriver: "overlay", Version: "4.3.1", Rootless: true, CgroupVersion: 1, PrivilegedWorks: true,
				MissingCaps: []string{"CAP_SYS_RESOURCE"}, CapsFrom: "kinc's own process", NofileLimit: 20000, NprocLimit: 32768},
			problems: []string{"rootless clusters need a cgroup v2 host with systemd delegation (Delegate=yes) and this host runs cgroup v1: boot it with systemd.unified_cgroup_hierarchy=1"},
		},
		{
			name:    "rootless podman on cgroup v2 with only memory and pids delegated",
			runtime: "podman",
			info:    podmanInfo(true, `"v2"`, `["memory","pids"]`),
			sys:     machine(nil),
			want: Host{Runtime: "podman", StorageDriver: "overlay", Version: "4.3.1", Rootless: true, CgroupVersion: 2, PrivilegedWorks: true,
				MissingCaps: []string{"CAP_SYS_RESOURCE"}, CapsFrom: "kinc's own process", NofileLimit: 20000, NprocLimit: 32768},
			problems: []string{"podman cannot use cpu:"},
		},
		{
			name:    "rootless podman with the vfs driver: a warning, not a problem",
			runtime: "podman",
			info:    podmanInfoDriver(true, `"v2"`, `["cpu","memory","pids"]`, `"vfs"`),
			sys:     machine(nil),
			want: Host{Runtime: "podman", StorageDriver: "vfs", Version: "4.3.1", Rootless: true, CgroupVersion: 2, PrivilegedWorks: true,
				MissingCaps: []string{"CAP_SYS_RESOURCE"}, CapsFrom: "kinc's own process", NofileLimit: 20000, NprocLimit: 32768},
			warnings: []string{`podman stores images with the vfs driver: every node container is a full copy of the node image (about 1 GB each, and slow to create); use the overlay driver: install fuse-overlayfs (and, on Debian and Ubuntu, containers-storage), set driver = "overlay" under [storage] in ~/.config/containers/storage.conf, then run ` + "`podman system reset`"},
		},
		{
			name:    "rootful podman with the vfs driver names /etc/containers/storage.conf",
			runtime: "podman",
			info:    podmanInfoDriver(false, `"v2"`, `["cpu","memory","pids"]`, `"vfs"`),
			sys:     machine(nil),
			want: Host{Runtime: "podman", StorageDriver: "vfs", Version: "4.3.1", CgroupVersion: 2, PrivilegedWorks: true,
				MissingCaps: []string{"CAP_SYS_RESOURCE"}, CapsFrom: "kinc's own process", NofileLimit: 20000, NprocLimit: 32768},
			warnings: []string{`set driver = "overlay" under [storage] in /etc/containers/storage.conf`},
		},
		{
			name:    "docker with the vfs driver",
			runtime: "docker",
			info:    dockerInfoDriver(`[]`, `"2"`, true, `"vfs"`),
			sys: machine(func(f fstest.MapFS) {
				f["proc/4867/status"] = &fstest.MapFile{Data: []byte("CapBnd:\t" + capBnd() + "\n")}
			}),
			want:     Host{Runtime: "docker", StorageDriver: "vfs", Version: "20.10.24+dfsg1", CgroupVersion: 2, PrivilegedWorks: true, CapsFrom: "dockerd (pid 4867)"},
			warnings: []string{`docker stores images with the vfs driver`, `"storage-driver": "overlay2" in /etc/docker/daemon.json`},
		},
		{
			name:    "a runtime that names no driver gets no warning",
			runtime: "podman",
			info:    podmanInfoDriver(false, `"v2"`, `["cpu","memory","pids"]`, `""`),
			sys:     machine(nil),
			want: Host{Runtime: "podman", Version: "4.3.1", CgroupVersion: 2, PrivilegedWorks: true,
				MissingCaps: []string{"CAP_SYS_RESOURCE"}, CapsFrom: "kinc's own process", NofileLimit: 20000, NprocLimit: 32768},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, rec := newRecorded(t, tt.runtime, func(run.Cmd) ([]byte, error) { return []byte(tt.info), nil })
			rt.sys = tt.sys
			got, err := rt.Detect(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Problems) != len(tt.problems) {
				t.Errorf("problems: got %q, want ones containing %q", got.Problems, tt.problems)
			} else {
				for i, p := range tt.problems {
					if !strings.Contains(got.Problems[i], p) {
						t.Errorf("problem %d: %q does not contain %q", i, got.Problems[i], p)
					}
				}
			}
			for _, w := range tt.warnings {
				if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], w) {
					t.Errorf("warnings: got %q, want one containing %q", got.Warnings, w)
				}
			}
			if len(tt.warnings) == 0 && len(got.Warnings) > 0 {
				t.Errorf("warnings: got %q, want none", got.Warnings)
			}
			got.Problems, got.Warnings = nil, nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("host:\n got  %+v\n want %+v", got, tt.want)
			}
			calls := rec.Calls()
			if len(calls) != 1 || calls[0].Timeout == 0 || strings.Join(calls[0].Args[:3], " ") != tt.runtime+" info --format" {
				t.Errorf("commands: %q (timeout %v)", rec.Lines(), calls[0].Timeout)
			}
		})
	}
}

func TestDetectErrors(t *testing.T) {
	tests := []struct {
		name    string
		runtime string
		out     string
		err     error
		want    string
	}{
		{name: "daemon down", runtime: "docker",
			err:  &run.Error{ExitCode: 1, Output: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", Err: errors.New("exit status 1")},
			want: "docker is installed but its daemon does not answer: start it (dockerd or systemctl start docker) (it said: Cannot connect to the Docker daemon"},
		{name: "not installed", runtime: "podman", err: &run.Error{ExitCode: -1, Err: &exec.Error{Name: "podman", Err: exec.ErrNotFound}},
			want: "podman is not installed: apt-get install podman"},
		{name: "hangs", runtime: "docker", err: &run.Error{ExitCode: -1, Err: fmt.Errorf("%w (signal: killed)", context.DeadlineExceeded)},
			want: "docker is installed but does not answer in time"},
		{name: "garbage", runtime: "docker", out: "20.10\n", want: "docker info: expected 7 tab-separated fields"},
		{name: "bad json", runtime: "podman", out: "4.3.1\tfalse\tv1\t[]\t\"overlay\"\n", want: "podman info: field 1 \"4.3.1\""},
		{name: "no version", runtime: "docker", out: "\"\"\t[]\t\"1\"\ttrue\ttrue\ttrue\t\"overlay2\"\n", want: "docker info reports no server version"},
		{name: "unknown cgroup", runtime: "podman", out: "\"4\"\tfalse\t\"v3\"\t[]\t\"overlay\"\n", want: `unknown cgroup version "v3"`},
		{name: "bad driver", runtime: "podman", out: "\"4\"\tfalse\t\"v2\"\t[]\tvfs\n", want: `podman info: field 5 "vfs"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, _ := newRecorded(t, tt.runtime, func(run.Cmd) ([]byte, error) { return []byte(tt.out), tt.err })
			rt.sys = machine(nil)
			_, err := rt.Detect(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestMissingCapsAndLimits(t *testing.T) {
	tests := []struct {
		name        string
		mod         func(fstest.MapFS)
		wantMissing []string
		wantErr     string
	}{
		{name: "this machine", wantMissing: []string{"CAP_SYS_RESOURCE"}},
		{name: "no CapBnd line", mod: func(f fstest.MapFS) { f["proc/self/status"] = &fstest.MapFile{Data: []byte("Name:\tx\n")} }, wantErr: "no CapBnd line"},
		{name: "bad CapBnd", mod: func(f fstest.MapFS) { f["proc/self/status"] = &fstest.MapFile{Data: []byte("CapBnd:\tzz\n")} }, wantErr: "CapBnd \"zz\""},
		{name: "no /proc", mod: func(f fstest.MapFS) { delete(f, "proc/self/status") }, wantErr: "file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := machine(tt.mod).missingCaps("self")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.wantMissing) {
				t.Errorf("missing %q, %v; want %q", got, err, tt.wantMissing)
			}
		})
	}
	if _, _, err := machine(func(f fstest.MapFS) { f["proc/self/limits"] = &fstest.MapFile{Data: []byte("Max processes 1 2 x\n")} }).ulimitCeilings(); err == nil ||
		!strings.Contains(err.Error(), `no "Max open files" line`) {
		t.Errorf("limits without nofile: %v", err)
	}
}

func TestSelect(t *testing.T) {
	notFound := &run.Error{ExitCode: -1, Err: &exec.Error{Name: "x", Err: exec.ErrNotFound}}
	silent := &run.Error{ExitCode: 1, Output: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", Err: errors.New("exit status 1")}
	broken := &run.Error{ExitCode: 125, Output: "Error: cannot re-exec process", Err: errors.New("exit status 125")}
	tests := []struct {
		name     string
		override string
		docker   error
		podman   error
		want     string
		wantErr  string
		// probes are the commands expected, in order.
		probes []string
	}{
		{name: "docker answers", want: "docker", probes: []string{"docker version --format '{{.Server.Version}}'"}},
		{name: "docker silent, podman answers", docker: silent, want: "podman",
			probes: []string{"docker version --format '{{.Server.Version}}'", "podman info --format '{{.Version.Version}}'"}},
		{name: "docker missing, podman answers", docker: notFound, want: "podman",
			probes: []string{"docker version --format '{{.Server.Version}}'", "podman info --format '{{.Version.Version}}'"}},
		{name: "override wins without probing", override: "podman", want: "podman"},
		{name: "override unknown", override: "lxc", wantErr: `unknown provider "lxc": use docker or podman`},
		{name: "neither installed", docker: notFound, podman: notFound,
			wantErr: "neither docker nor podman is installed: apt-get install docker.io or podman"},
		{name: "docker silent, podman missing", docker: silent, podman: notFound,
			wantErr: "docker is installed but its daemon does not answer: start it (dockerd or systemctl start docker) (it said: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)"},
		{name: "docker missing, podman broken", docker: notFound, podman: broken,
			wantErr: "podman is installed but does not answer: run `podman info` to see why (`podman system migrate` fixes a stale configuration) (it said: Error: cannot re-exec process)"},
		{name: "both silent", docker: silent, podman: broken,
			wantErr: "docker is installed but its daemon does not answer: start it (dockerd or systemctl start docker) (it said: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?); and podman is installed but does not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
				if c.Timeout == 0 {
					t.Errorf("probe without timeout: %s", c.Line())
				}
				if c.Args[0] == "docker" {
					return []byte("20.10.24\n"), tt.docker
				}
				return []byte("4.3.1\n"), tt.podman
			}}
			rt, err := Select(context.Background(), rec, tt.override)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error %v\nwant %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rt.Name() != tt.want {
				t.Errorf("selected %s, want %s", rt.Name(), tt.want)
			}
			if got := rec.Lines(); strings.Join(got, "\n") != strings.Join(tt.probes, "\n") {
				t.Errorf("probes %q, want %q", got, tt.probes)
			}
		})
	}
}
