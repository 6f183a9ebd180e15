package nodeimage

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// buildDiskSpace is about the most a cold build keeps under the cache
// directory at once: the debootstrap rootfs and its layer, the generated Go
// modules and their binaries, and the work directory's component archives,
// node containerd store and image tarballs.
const buildDiskSpace = 4 << 30

func freeSpace(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// checkDiskSpace fails before a build starts, not minutes into it.
func checkDiskSpace(dir string) error {
	free, err := freeSpace(dir)
	if err != nil {
		return nil // cannot tell; a step that runs out says so
	}
	if free < buildDiskSpace {
		return fmt.Errorf("not enough disk space: %s free in %s, a build needs about %s there (free some space, or set KINC_CACHE_DIR to a directory on a larger disk)",
			size(free), dir, size(buildDiskSpace))
	}
	return nil
}

// explainDiskFull says so when a step failed because a disk filled up: the
// tools involved (tar, unxz, go) report it in many ways.
func explainDiskFull(err error, dir string) error {
	if !errors.Is(err, syscall.ENOSPC) && !strings.Contains(strings.ToLower(err.Error()), "no space left on device") {
		return err
	}
	where := "the disk"
	if free, ferr := freeSpace(dir); ferr == nil {
		where = fmt.Sprintf("the disk of %s (%s free now)", dir, size(free))
	}
	return fmt.Errorf("disk full: %s ran out of space; a build needs about %s there (free some space, or set KINC_CACHE_DIR to a directory on a larger disk): %w",
		where, size(buildDiskSpace), err)
}

func size(n uint64) string {
	if n < 1<<30 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
