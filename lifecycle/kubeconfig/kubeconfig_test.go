package kubeconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const admin = `apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster: {server: "https://x:6443", certificate-authority-data: Q0E=}
users:
- name: kubernetes-admin
  user: {client-key-data: S0VZ}
contexts:
- name: kubernetes-admin@kubernetes
  context: {cluster: kubernetes, user: kubernetes-admin}
current-context: kubernetes-admin@kubernetes
`

const existing = `apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: {server: "https://other:443"}
users:
- name: other
  user: {token: abc}
contexts:
- name: other
  context: {cluster: other, user: other, namespace: dev}
current-context: other
preferences: {colors: true}
`

func TestMergeAndRemove(t *testing.T) {
	tests := []struct {
		name     string
		start    string // "" = no file
		contexts []string
	}{
		{"new file", "", []string{"kinc-a"}},
		{"keeps others", existing, []string{"other", "kinc-a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "sub", "config")
			if tt.start != "" {
				os.MkdirAll(filepath.Dir(file), 0o700)
				os.WriteFile(file, []byte(tt.start), 0o644)
			}
			single, err := Rename([]byte(admin), "kinc-a", "https://127.0.0.1:1234")
			if err != nil {
				t.Fatal(err)
			}
			// Merging twice must not duplicate entries.
			for i := 0; i < 2; i++ {
				if err := Merge(file, single); err != nil {
					t.Fatal(err)
				}
			}
			data, _ := os.ReadFile(file)
			got := string(data)
			for _, want := range append(tt.contexts, "current-context: kinc-a", "server: https://127.0.0.1:1234", "certificate-authority-data: Q0E=") {
				if !strings.Contains(got, want) {
					t.Errorf("merged kubeconfig lacks %q:\n%s", want, got)
				}
			}
			if n := strings.Count(got, "name: kinc-a"); n != 3 {
				t.Errorf("kinc-a appears %d times, want 3 (cluster, user, context):\n%s", n, got)
			}
			if tt.start != "" && !strings.Contains(got, "namespace: dev") {
				t.Errorf("lost a field of another context:\n%s", got)
			}
			st, _ := os.Stat(file)
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", st.Mode().Perm())
			}
			if err := Remove(file, "kinc-a"); err != nil {
				t.Fatal(err)
			}
			if ok, _ := Contains(file, "kinc-a"); ok {
				t.Error("context still there after Remove")
			}
			data, _ = os.ReadFile(file)
			if strings.Contains(string(data), "kinc-a") {
				t.Errorf("kinc-a left in file:\n%s", data)
			}
			if _, err := os.Stat(file + ".lock"); !os.IsNotExist(err) {
				t.Errorf("lock file left behind: %v", err)
			}
		})
	}
}

func TestLockWaitsForOtherWriter(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config")
	unlock, err := lock(file)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- Merge(file, []byte(admin)) }()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Merge ran while the lock was held (err %v)", err)
	default:
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRemoveMissingFile(t *testing.T) {
	if err := Remove(filepath.Join(t.TempDir(), "nope"), "x"); err != nil {
		t.Fatal(err)
	}
}

func TestPaths(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	os.WriteFile(b, []byte(existing), 0o600)
	os.WriteFile(c, []byte(existing), 0o600)
	home := t.TempDir()
	t.Setenv("HOME", home)
	sep := string(filepath.ListSeparator)
	tests := []struct {
		name      string
		explicit  string
		env       string
		wantWrite string   // Path
		wantAll   []string // Paths
	}{
		{"explicit wins", a, b + sep + c, a, []string{a}},
		{"no KUBECONFIG: ~/.kube/config", "", "", filepath.Join(home, ".kube", "config"), []string{filepath.Join(home, ".kube", "config")}},
		{"first existing file, not a missing first entry", "", a + sep + b + sep + c, b, []string{a, b, c}},
		{"none exists: the last", "", a + sep + filepath.Join(dir, "d"), filepath.Join(dir, "d"), []string{a, filepath.Join(dir, "d")}},
		{"empty entries ignored", "", sep + sep + c + sep, c, []string{c}},
		{"duplicates once", "", b + sep + b, b, []string{b}},
		{"only empty entries: ~/.kube/config", "", sep, filepath.Join(home, ".kube", "config"), []string{filepath.Join(home, ".kube", "config")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.env)
			got, err := Path(tt.explicit)
			if err != nil || got != tt.wantWrite {
				t.Errorf("Path(%q) with KUBECONFIG=%q = %q, %v; want %q", tt.explicit, tt.env, got, err, tt.wantWrite)
			}
			all, err := Paths(tt.explicit)
			if err != nil || strings.Join(all, ",") != strings.Join(tt.wantAll, ",") {
				t.Errorf("Paths(%q) with KUBECONFIG=%q = %q, %v; want %q", tt.explicit, tt.env, all, err, tt.wantAll)
			}
		})
	}
}

func TestWriteInPlace(t *testing.T) {
	single, err := Rename([]byte(admin), "kinc-a", "https://127.0.0.1:1234")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("symlink stays a symlink", func(t *testing.T) {
		dir := t.TempDir()
		target, link := filepath.Join(dir, "real-config"), filepath.Join(dir, "config")
		os.WriteFile(target, []byte(existing), 0o600)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if err := Merge(link, single); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("%s is no longer a symlink: %v %v", link, st.Mode(), err)
		}
		if ok, _ := Contains(target, "kinc-a"); !ok {
			t.Error("the symlink's target lacks the merged context")
		}
		if err := Remove(link, "kinc-a"); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
			t.Error("Remove replaced the symlink")
		}
		if ok, _ := Contains(target, "kinc-a"); ok {
			t.Error("Remove left the context in the target")
		}
	})
	t.Run("owner stays", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Fatal("this test chowns a file to another user: run it as root (CI does)")
		}
		file := filepath.Join(t.TempDir(), "config")
		os.WriteFile(file, []byte(existing), 0o600)
		if err := os.Chown(file, 4242, 4343); err != nil {
			t.Fatal(err)
		}
		if err := Merge(file, single); err != nil {
			t.Fatal(err)
		}
		if err := Remove(file, "other"); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(file)
		uid, gid := ownerOf(st)
		if uid != 4242 || gid != 4343 {
			t.Errorf("owner %d:%d after writing, want 4242:4343", uid, gid)
		}
	})
	t.Run("remove from every file of KUBECONFIG", func(t *testing.T) {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		for _, f := range []string{a, b} {
			if err := Merge(f, single); err != nil {
				t.Fatal(err)
			}
		}
		t.Setenv("KUBECONFIG", a+string(filepath.ListSeparator)+b)
		files, err := Paths("")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := Remove(f, "kinc-a"); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{a, b} {
			if ok, _ := Contains(f, "kinc-a"); ok {
				t.Errorf("%s still has the context", f)
			}
		}
	})
}
