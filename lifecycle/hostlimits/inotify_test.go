package hostlimits

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeProc builds a /proc with the two limits and processes: uid -> the
// number of inotify watches of each of its inotify fds.
func fakeProc(t *testing.T, instances, watches string, procs map[string]struct {
	uid     string
	watches []int
}) string {
	t.Helper()
	root := t.TempDir()
	write := func(path, data string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755)
		if err := os.WriteFile(filepath.Join(root, path), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sys/fs/inotify/max_user_instances", instances+"\n")
	write("sys/fs/inotify/max_user_watches", watches+"\n")
	for pid, p := range procs {
		write(pid+"/status", "Name:\tx\nUid:\t"+p.uid+"\t"+p.uid+"\t"+p.uid+"\t"+p.uid+"\n")
		os.MkdirAll(filepath.Join(root, pid, "fd"), 0o755)
		os.Symlink("/dev/null", filepath.Join(root, pid, "fd", "0"))
		for i, w := range p.watches {
			fd := string(rune('3' + i))
			os.Symlink("anon_inode:inotify", filepath.Join(root, pid, "fd", fd))
			write(pid+"/fdinfo/"+fd, "pos:\t0\n"+strings.Repeat("inotify wd:1 ino:2 sdev:3 mask:4\n", w))
		}
	}
	os.MkdirAll(filepath.Join(root, "self"), 0o755)
	return root
}

func TestReadInotify(t *testing.T) {
	type proc = struct {
		uid     string
		watches []int
	}
	root := fakeProc(t, "128", "8192", map[string]proc{
		"1":   {"0", []int{2, 3}},
		"200": {"0", []int{10}},
		"300": {"1000", []int{50, 50}}, // another user's pool
	})
	in, err := ReadInotify(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := Inotify{MaxInstances: 128, MaxWatches: 8192, UID: 0, Instances: 3, Watches: 15, Counted: true}
	if in != want {
		t.Errorf("got %+v, want %+v", in, want)
	}
	if _, err := ReadInotify(t.TempDir(), 0); err == nil || !strings.Contains(err.Error(), "max_user_instances") {
		t.Errorf("no limits file: %v", err)
	}
}

func TestRoomAndCheck(t *testing.T) {
	oneNode, onePlusTwo := Nodes{ControlPlanes: 1}, Nodes{ControlPlanes: 1, Workers: 2}
	tests := []struct {
		name      string
		in        Inotify
		running   Nodes
		wantRoom  int
		adding    Nodes
		wantError bool
	}{
		{"counted, plenty", Inotify{MaxInstances: 1024, MaxWatches: 524288, Instances: 100, Watches: 5000, Counted: true}, onePlusTwo, (1024 - 100) / InstancesPerControlPlane, onePlusTwo, false},
		// Debian's default 128 with a 1+2 cluster running: three more
		// 1-node clusters timed out for real; one more fits.
		{"not counted: 1+2 running, 3 more nodes", Inotify{MaxInstances: 128, MaxWatches: 192536}, onePlusTwo, 1, Nodes{ControlPlanes: 3}, true},
		{"not counted: 1+2 running, 1 more node", Inotify{MaxInstances: 128, MaxWatches: 192536}, onePlusTwo, 1, oneNode, false},
		{"watches are the tighter limit", Inotify{MaxInstances: 1024, MaxWatches: 3 * WatchesPerControlPlane, Counted: true}, Nodes{}, 3, Nodes{ControlPlanes: 4}, true},
		{"over the limit already", Inotify{MaxInstances: 128, MaxWatches: 8192, Instances: 200, Counted: true}, Nodes{}, 0, oneNode, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Room(tt.running); got != tt.wantRoom {
				t.Errorf("Room(%v) = %d, want %d", tt.running, got, tt.wantRoom)
			}
			err := tt.in.Check(tt.running, tt.adding)
			if (err != nil) != tt.wantError {
				t.Fatalf("Check(%v, %v) = %v, want error %t", tt.running, tt.adding, err, tt.wantError)
			}
			if err != nil {
				for _, want := range []string{"inotify limits too low", "sysctl -w fs.inotify.max_user_instances=1024", "/etc/sysctl.d/99-kinc-inotify.conf", "too many open files"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q: %v", want, err)
					}
				}
			}
		})
	}
}
