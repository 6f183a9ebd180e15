package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   []string // substrings
		errParts []string // substrings of the error
	}{
		{
			name:   "good spec prints the spec with defaults",
			args:   []string{"../testdata/specs/good/minimal.toml"},
			stdout: []string{"is valid", "name = 'dev'", "kubernetes_version = 'v1.34.4'", "pod_subnet = '10.244.0.0/16'", "[[nodes]]\nrole = 'control-plane'"},
		},
		{
			name: "bad spec reports every problem",
			args: []string{"../testdata/specs/bad/several.toml"},
			code: 1,
			errParts: []string{
				"11 problems in the spec:",
				"several.toml:2: name: ",
				"several.toml:22: kubeadm_patches[0].target: ",
			},
		},
		{
			name:     "missing file",
			args:     []string{"../testdata/specs/none.toml"},
			code:     1,
			errParts: []string{"read cluster spec:", "none.toml"},
		},
		{
			name:     "no file",
			code:     2,
			errParts: []string{"want exactly one FILE"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := NewApp(&stdout, &stderr).RunContext(context.Background(), append([]string{"kinc", "spec", "validate"}, tc.args...))
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("error: %v", err)
				}
			} else if err == nil {
				t.Fatalf("no error; stdout:\n%s", stdout.String())
			} else if got := ExitCode(err); got != tc.code {
				t.Errorf("exit code %d, want %d (%v)", got, tc.code, err)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tc.errParts {
				if err == nil || !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q: %v", s, err)
				}
			}
		})
	}
}
