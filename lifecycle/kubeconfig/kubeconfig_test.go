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
