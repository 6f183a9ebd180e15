package debian

import (
	"context"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/providers/run"
)

func TestClosure(t *testing.T) {
	line := func(name, status, provides, deps string) string {
		return name + "\t" + status + "\t" + provides + "\t" + deps + "\n"
	}
	ok := "install ok installed"
	db := line("iptables", ok, "", ", libc6 (>= 2.34), libnftnl11 | libnftnl-old, netbase") +
		line("libc6", ok, "", "libgcc-s1, ") +
		line("libgcc-s1", ok, "", ", libc6") +
		line("libnftnl11", ok, "", ", libc6") +
		line("netbase", ok, "", ", ") +
		line("tool", ok, "", ", mawk-or-gawk | awk, b | c:any") +
		line("c", ok, "", ", ") +
		line("mawk", ok, "awk (= 1.3)", ", ") +
		line("gawk", ok, "awk", ", ") +
		line("b", "deinstall ok config-files", "", ", ") +
		line("needs-virtual", ok, "", ", awk")
	tests := []struct {
		name string
		pkgs []string
		want string
		err  string
	}{
		// netbase has no dependencies: it is in the closure all the same.
		{"transitive with cycle", []string{"iptables"}, "iptables libc6 libgcc-s1 libnftnl11 netbase", ""},
		// b is not installed (config files only): c is taken; awk is virtual.
		{"first installed alternative", []string{"tool"}, "c gawk tool", ""},
		{"virtual package: first provider by name", []string{"needs-virtual"}, "gawk needs-virtual", ""},
		{"sorted, several roots", []string{"netbase", "c"}, "c netbase", ""},
		{"root not installed", []string{"b"}, "", "package b is not installed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := closure(db, tt.pkgs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != tt.want {
				t.Errorf("closure = %v %v, want %s", got, err, tt.want)
			}
		})
	}
}

func TestClosureAsksDpkgReadOnly(t *testing.T) {
	rec := &run.Recorder{Respond: func(run.Cmd) ([]byte, error) { return []byte("netbase\tinstall ok installed\t\t, \n"), nil }}
	got, err := Closure(context.Background(), rec, "/r", []string{"netbase"})
	if err != nil || len(got) != 1 {
		t.Fatalf("Closure = %v %v", got, err)
	}
	c := rec.Calls()[0]
	if !c.ReadOnly || c.Args[1] != "--admindir=/r/var/lib/dpkg" {
		t.Errorf("ran %s (read-only %v)", c.Line(), c.ReadOnly)
	}
}

func TestPackageFiles(t *testing.T) {
	out := "/.\n/usr/sbin/iptables\n/usr/share/doc/iptables/copyright\n/usr/share/man/man8/iptables.8.gz\n" +
		"package diverts others to: /usr/bin/x.real\n\n/usr/lib/x86_64-linux-gnu/libxtables.so.12\n"
	if got := strings.Join(packageFiles(out), " "); got != "/. /usr/sbin/iptables /usr/lib/x86_64-linux-gnu/libxtables.so.12" {
		t.Errorf("packageFiles = %s", got)
	}
}
