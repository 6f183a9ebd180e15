package providers

import (
	"encoding/json"
	"fmt"
	"strings"
)

// dialect holds everything docker and podman do differently.
type dialect struct {
	name   string
	binary string
	// ulimits: podman applies its own default ulimits to every container,
	// which fail where the hard limits are low ("error setting rlimit type
	// 7"), so it needs explicit ones within the host's ceilings.
	setsUlimits bool
	// multiImageSave is the flag podman needs to save several images in one archive.
	multiImageSave string
	// probeArgs ask the runtime something only a working runtime answers
	// (docker: its daemon's version).
	probeArgs []string
	// infoFormat is the `info --format` template whose tab-separated JSON
	// fields parseInfo reads.
	infoFormat string
	parseInfo  func(fields []string) (hostInfo, error)
	// storeFormat is the `info --format` template printing the directory
	// holding the runtime's images.
	storeFormat string
	// capsFromDaemon: the capability bounding set that matters is the
	// daemon's (docker), not that of the process running the CLI (podman,
	// which has no daemon).
	capsFromDaemon bool
	// privilegedNeedsAllCaps: `run --privileged` fails unless the bounding
	// set holds every capability (docker 20.10: "unable to apply caps");
	// podman grants only what its bounding set holds.
	privilegedNeedsAllCaps bool
	// unmaskPaths is the security option that unmasks /proc and /sys paths
	// when running without --privileged.
	unmaskPaths string
	// rmArgs are added to `rm -f`: podman otherwise waits 10 s for the stop
	// signal first.
	rmArgs []string
	// startHint tells how to get a silent runtime to answer.
	startHint string
	// needsBridgeForwardRule: the runtime's firewall forwards bridge traffic
	// only for the network's own subnet (podman's netavark), so pod traffic
	// between nodes needs a host rule (see bridgeForwarding).
	needsBridgeForwardRule bool
	// untagArgs remove one name of an image: docker's rmi of a name only
	// untags while other names remain; podman's rmi would delete the
	// image, its untag with a name removes just that name.
	untagArgs func(ref string) []string
	// restartPolicy brings nodes back when the runtime or the host
	// restarts: docker restarts unless-stopped containers when dockerd
	// starts; podman has no daemon, and its podman-restart.service starts
	// the containers whose policy is "always" at boot.
	restartPolicy string
	// subnetFormat is the `network inspect` template printing each IPv4
	// subnet of a network as "SUBNET GATEWAY" lines.
	subnetFormat string
	// fixedIPNeedsSubnet: `run --ip` works only on a network created with an
	// explicit --subnet (docker: "user specified IP address is supported only
	// when connecting to networks with user configured subnets").
	fixedIPNeedsSubnet bool
}

// hostInfo is what a runtime's `info` says about itself.
type hostInfo struct {
	Version       string
	Rootless      bool
	CgroupVersion int // 0: not reported
	// Undelegated names the cgroup controllers (cpu, memory, pids) the
	// runtime cannot use; only meaningful when rootless.
	Undelegated []string
	// StorageDriver is the image store's driver (overlay2, overlay, vfs…).
	StorageDriver string
}

var dialects = map[string]dialect{
	"docker": {
		name:        "docker",
		binary:      "docker",
		probeArgs:   []string{"version", "--format", "{{.Server.Version}}"},
		storeFormat: "{{.DockerRootDir}}",
		infoFormat: "{{json .ServerVersion}}\t{{json .SecurityOptions}}\t{{json .CgroupVersion}}\t" +
			"{{json .CPUCfsQuota}}\t{{json .MemoryLimit}}\t{{json .PidsLimit}}\t{{json .Driver}}",
		parseInfo:              parseDockerInfo,
		capsFromDaemon:         true,
		privilegedNeedsAllCaps: true,
		unmaskPaths:            "systempaths=unconfined",
		startHint:              "start it (dockerd or systemctl start docker)",
		untagArgs:              func(ref string) []string { return []string{"rmi", ref} },
		restartPolicy:          "unless-stopped",
		subnetFormat:           "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}\n{{end}}",
		fixedIPNeedsSubnet:     true,
	},
	"podman": {
		name:           "podman",
		binary:         "podman",
		setsUlimits:    true,
		multiImageSave: "--multi-image-archive",
		probeArgs:      []string{"info", "--format", "{{.Version.Version}}"},
		storeFormat:    "{{.Store.GraphRoot}}",
		infoFormat: "{{json .Version.Version}}\t{{json .Host.Security.Rootless}}\t{{json .Host.CgroupsVersion}}\t" +
			"{{json .Host.CgroupControllers}}\t{{json .Store.GraphDriverName}}",
		parseInfo:   parsePodmanInfo,
		unmaskPaths: "unmask=ALL",
		rmArgs:      []string{"--time", "0"},
		startHint:   "run `podman info` to see why (`podman system migrate` fixes a stale configuration)",

		needsBridgeForwardRule: true,
		untagArgs:              func(ref string) []string { return []string{"untag", ref, ref} },
		restartPolicy:          "always",
		subnetFormat:           "{{range .Subnets}}{{.Subnet}} {{.Gateway}}\n{{end}}",
	},
}

// runtimeNames lists the runtimes kinc knows, in order of preference.
var runtimeNames = []string{"docker", "podman"}

// Names returns the runtimes kinc can drive, in order of preference.
func Names() []string { return append([]string(nil), runtimeNames...) }

func (d dialect) saveArgs(images int) []string {
	if images > 1 && d.multiImageSave != "" {
		return []string{d.multiImageSave}
	}
	return nil
}

// runArgs are the run options of every container on this host.
func (d dialect) runArgs(host Host) []string {
	var args []string
	if d.setsUlimits {
		if host.NofileLimit > 0 {
			args = append(args, "--ulimit", fmt.Sprintf("nofile=%d:%d", host.NofileLimit, host.NofileLimit))
		}
		if host.NprocLimit > 0 {
			args = append(args, "--ulimit", fmt.Sprintf("nproc=%d:%d", host.NprocLimit, host.NprocLimit))
		}
	}
	return args
}

// nodeRunArgs are the run options a Kubernetes node container adds to runArgs.
func (d dialect) nodeRunArgs(host Host) []string {
	args := []string{
		"--cgroupns=private",
		"--tmpfs", "/tmp",
		"--tmpfs", "/run",
		"--security-opt", "seccomp=unconfined",
		"--security-opt", "apparmor=unconfined",
		"--security-opt", "label=disable",
		"--stop-signal", "SIGRTMIN+3",
		"--restart", d.restartPolicy,
	}
	if host.PrivilegedWorks {
		args = append(args, "--privileged")
	} else {
		args = append(args, "--cap-add", "ALL")
		for _, c := range host.MissingCaps {
			args = append(args, "--cap-drop", c)
		}
		args = append(args,
			"--device-cgroup-rule", "a *:* rwm",
			"--security-opt", d.unmaskPaths,
			"--device", "/dev/kmsg",
		)
	}
	return args
}

// splitInfo splits `info --format` output into its n tab-separated fields.
func (d dialect) splitInfo(out []byte, n int) ([]string, error) {
	line := strings.TrimSpace(string(out))
	fields := strings.Split(line, "\t")
	if len(fields) != n {
		return nil, fmt.Errorf("%s info: expected %d tab-separated fields, got %q", d.name, n, line)
	}
	return fields, nil
}

func unmarshalFields(runtime string, fields []string, dst ...any) error {
	for i, f := range fields {
		if err := json.Unmarshal([]byte(f), dst[i]); err != nil {
			return fmt.Errorf("%s info: field %d %q: %w", runtime, i+1, f, err)
		}
	}
	return nil
}

func parseDockerInfo(fields []string) (hostInfo, error) {
	var (
		info                   hostInfo
		secOpts                []string
		cgroup                 string
		cpuQuota, memory, pids bool
	)
	if err := unmarshalFields("docker", fields, &info.Version, &secOpts, &cgroup, &cpuQuota, &memory, &pids, &info.StorageDriver); err != nil {
		return info, err
	}
	if info.Version == "" {
		return info, fmt.Errorf("docker info reports no server version")
	}
	for _, o := range secOpts {
		// "name=rootless" (docker ≥ 19.03)
		for _, kv := range strings.Split(o, ",") {
			if kv == "name=rootless" || kv == "rootless" {
				info.Rootless = true
			}
		}
	}
	switch cgroup {
	case "1":
		info.CgroupVersion = 1
	case "2":
		info.CgroupVersion = 2
	case "":
	default:
		return info, fmt.Errorf("docker info: unknown cgroup version %q", cgroup)
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{{"cpu", cpuQuota}, {"memory", memory}, {"pids", pids}} {
		if !c.ok {
			info.Undelegated = append(info.Undelegated, c.name)
		}
	}
	return info, nil
}

func parsePodmanInfo(fields []string) (hostInfo, error) {
	var (
		info        hostInfo
		cgroup      string
		controllers []string
	)
	if err := unmarshalFields("podman", fields, &info.Version, &info.Rootless, &cgroup, &controllers, &info.StorageDriver); err != nil {
		return info, err
	}
	if info.Version == "" {
		return info, fmt.Errorf("podman info reports no version")
	}
	switch cgroup {
	case "v1":
		info.CgroupVersion = 1
	case "v2":
		info.CgroupVersion = 2
	case "":
	default:
		return info, fmt.Errorf("podman info: unknown cgroup version %q", cgroup)
	}
	have := map[string]bool{}
	for _, c := range controllers {
		have[c] = true
	}
	for _, c := range []string{"cpu", "memory", "pids"} {
		if !have[c] {
			info.Undelegated = append(info.Undelegated, c)
		}
	}
	return info, nil
}
