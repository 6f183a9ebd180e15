// Package diskcheck refuses a build before it starts when a filesystem it
// writes to lacks the room, rather than minutes into it.
package diskcheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// GiB is 1<<30 bytes.
const GiB = 1 << 30

// Need is about the most a build writes below Dir at once.
type Need struct {
	// What names the place: "kinc cache", "GOCACHE", "docker image store".
	What  string
	Dir   string
	Bytes uint64
}

// FS reports the filesystem holding dir: an identifier (the device) and
// its free bytes.
type FS func(dir string) (dev, free uint64, err error)

// Host is the FS of this machine. A directory that does not exist yet (a
// cold Go cache) is on the filesystem of its nearest existing parent.
func Host(dir string) (dev, free uint64, err error) {
	p := filepath.Clean(dir)
	for {
		st, serr := os.Stat(p)
		if serr == nil {
			var fs syscall.Statfs_t
			if err := syscall.Statfs(p, &fs); err != nil {
				return 0, 0, err
			}
			sys, ok := st.Sys().(*syscall.Stat_t)
			if !ok {
				return 0, 0, fmt.Errorf("%s: no device number", p)
			}
			return uint64(sys.Dev), fs.Bavail * uint64(fs.Bsize), nil
		}
		parent := filepath.Dir(p)
		if parent == p {
			return 0, 0, serr
		}
		p = parent
	}
}

// Check sums the needs of each filesystem (several places often share one)
// and fails naming every filesystem without the room, its places and their
// needs. Places whose filesystem cannot be told are left out: a step that
// runs out says so (ExplainFull).
func Check(needs []Need, fsOf FS) error {
	type filesystem struct {
		free, need uint64
		places     []Need
	}
	byDev := map[uint64]*filesystem{}
	var devs []uint64
	for _, n := range needs {
		dev, free, err := fsOf(n.Dir)
		if err != nil {
			continue
		}
		f, ok := byDev[dev]
		if !ok {
			f = &filesystem{free: free}
			byDev[dev] = f
			devs = append(devs, dev)
		}
		f.need += n.Bytes
		f.places = append(f.places, n)
	}
	sort.Slice(devs, func(i, j int) bool { return devs[i] < devs[j] })
	var short []string
	for _, d := range devs {
		f := byDev[d]
		if f.free >= f.need {
			continue
		}
		var places []string
		for _, p := range f.places {
			places = append(places, fmt.Sprintf("%s %s: %s", p.What, p.Dir, Size(p.Bytes)))
		}
		short = append(short, fmt.Sprintf("%s free where the build needs about %s (%s)", Size(f.free), Size(f.need), strings.Join(places, ", ")))
	}
	if len(short) == 0 {
		return nil
	}
	return fmt.Errorf("not enough disk space: %s; free some space, or set KINC_CACHE_DIR, GOCACHE or GOMODCACHE to a directory on a larger disk",
		strings.Join(short, "; "))
}

// ExplainFull says so when a step failed because a disk filled up: the
// tools involved (tar, unxz, go) report it in many ways.
func ExplainFull(err error, dir string) error {
	if !errors.Is(err, syscall.ENOSPC) && !strings.Contains(strings.ToLower(err.Error()), "no space left on device") {
		return err
	}
	// The full filesystem may be that of a Go cache or a runtime's store:
	// say how the cache directory's stands, the one most often at fault.
	now := ""
	if _, free, ferr := Host(dir); ferr == nil {
		now = fmt.Sprintf(" (%s has %s free now)", dir, Size(free))
	}
	return fmt.Errorf("disk full: a filesystem the build writes to ran out of space%s; free some space, or set KINC_CACHE_DIR, GOCACHE or GOMODCACHE to a directory on a larger disk: %w", now, err)
}

// Size is n in MiB or GiB.
func Size(n uint64) string {
	if n < GiB {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/GiB)
}
