package nodeimage

import (
	"strings"
	"testing"
)

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		version, wantErr string
	}{
		{"v1.34.4", ""},
		{"v1.31.0", ""},
		{"v1.37.2", ""},
		{"v1.30.14", "kinc builds Kubernetes v1.31.0 and newer"},
		{"v2.0.0", "kinc builds Kubernetes v1.31.0 and newer"},
		{"1.34.4", "not of the form vX.Y.Z"},
		{"v1.34", "not of the form vX.Y.Z"},
	} {
		err := checkVersion(tc.version)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.version, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: got %v, want an error containing %q", tc.version, err, tc.wantErr)
		}
	}
}
