package providers

import "fmt"

// dialect holds everything docker and podman do differently.
type dialect struct {
	name   string
	binary string
	// ulimits: podman applies its own default ulimits, which fail where the
	// hard limits are low, so it needs explicit ones within the host's ceilings.
	setsUlimits bool
	// multiImageSave is the flag podman needs to save several images in one archive.
	multiImageSave string
}

var dialects = map[string]dialect{
	"docker": {name: "docker", binary: "docker"},
	"podman": {name: "podman", binary: "podman", setsUlimits: true, multiImageSave: "--multi-image-archive"},
}

func (d dialect) saveArgs(images int) []string {
	if images > 1 && d.multiImageSave != "" {
		return []string{d.multiImageSave}
	}
	return nil
}

// nodeRunArgs are the run options of a Kubernetes node container.
func (d dialect) nodeRunArgs(host Host) []string {
	args := []string{
		"--cgroupns=private",
		"--tmpfs", "/tmp",
		"--tmpfs", "/run",
		"--security-opt", "seccomp=unconfined",
		"--security-opt", "apparmor=unconfined",
		"--security-opt", "label=disable",
		"--stop-signal", "SIGRTMIN+3",
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
			"--security-opt", "systempaths=unconfined",
			"--device", "/dev/kmsg",
			"--device", "/dev/fuse",
		)
	}
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
