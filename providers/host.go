package providers

// Host is what kinc detected about a runtime and the machine it runs on.
type Host struct {
	Runtime  string
	Version  string
	Rootless bool
	// CgroupVersion is 1 or 2.
	CgroupVersion int
	// PrivilegedWorks is false where `run --privileged` fails (a process tree
	// without CAP_SYS_RESOURCE, say); nodes then run with the fallback
	// options: every capability but the missing ones, an allow-all device
	// cgroup rule and unconfined security options.
	PrivilegedWorks bool
	// MissingCaps names capabilities absent from the bounding set.
	MissingCaps []string
	// CapsFrom says whose bounding set MissingCaps describes: the docker
	// daemon's when it runs on this machine, else kinc's own process.
	CapsFrom string
	// NofileLimit and NprocLimit are the highest ulimits a container may be
	// given (0: no need to set one).
	NofileLimit uint64
	NprocLimit  uint64
	// Problems are reasons clusters cannot run on this host, each a sentence
	// with its fix. Empty means clusters can run.
	Problems []string
	// StorageDriver is the driver of the runtime's image store ("overlay2",
	// "overlay", "vfs", ...; empty when the runtime does not say).
	StorageDriver string
	// Warnings are things that let clusters run but badly (a vfs image
	// store, say), each a sentence with its fix.
	Warnings []string
}
