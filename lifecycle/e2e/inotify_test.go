//go:build e2e

package e2e

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const maxInstancesFile = "/proc/sys/fs/inotify/max_user_instances"

// TestE2EInotifyPreflight lowers fs.inotify.max_user_instances (host-wide)
// below what one more node needs, for the second or two a refused create
// takes, and restores it at once: kinc create refuses before creating
// anything, naming the limit and the exact sysctl fix, and kinc doctor
// reports the limit with the same fix.
func TestE2EInotifyPreflight(t *testing.T) {
	orig, err := os.ReadFile(maxInstancesFile)
	if err != nil {
		t.Fatalf("read %s: %v", maxInstancesFile, err)
	}
	restore := func() {
		if err := os.WriteFile(maxInstancesFile, orig, 0o644); err != nil {
			t.Errorf("RESTORE FAILED: write %s back to %s: %v", strings.TrimSpace(string(orig)), maxInstancesFile, err)
		}
	}
	defer restore()
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			name := "cli-" + rt[:3] + "-ino"
			kincRun(t, nil, "delete", "cluster", name, "--provider", rt)
			// Low enough that not one node fits, whatever runs now (a control
			// plane takes ~32 instances).
			low := 16
			if err := os.WriteFile(maxInstancesFile, []byte(strconv.Itoa(low)), 0o644); err != nil {
				t.Fatalf("lower %s: %v", maxInstancesFile, err)
			}
			lowered := time.Now()
			// create and doctor side by side: the limit stays low as briefly as can be.
			doctorDone := make(chan string)
			go func() { out, _, _ := kincRun(t, nil, "doctor", "--provider", rt); doctorDone <- out }()
			out, errOut, code := kincRun(t, nil, "create", "cluster", name, "--provider", rt)
			doctor := <-doctorDone
			restore()
			t.Logf("max_user_instances was %d for %.1fs", low, time.Since(lowered).Seconds())
			if code != 1 {
				t.Errorf("create with max_user_instances=%d: exit %d, want 1\n%s%s", low, code, out, errOut)
			}
			for _, want := range []string{"inotify limits too low", "allows uid 0 16 instances", "sysctl -w fs.inotify.max_user_instances=1024", "/etc/sysctl.d/99-kinc-inotify.conf"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("the refusal lacks %q:\n%s", want, errOut)
				}
			}
			if left := labelled(t, rt, name); left != "" {
				t.Errorf("the refused create left %s", left)
			}
			for _, want := range []string{"inotify:         max_user_instances=16 ", "room for 0 more 1-node cluster(s)", "inotify fix:     sysctl -w fs.inotify.max_user_instances=1024"} {
				if !strings.Contains(doctor, want) {
					t.Errorf("doctor lacks %q:\n%s", want, doctor)
				}
			}
		})
	}
}
