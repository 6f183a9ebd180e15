package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestFlagsAfterArgumentsAreRefused(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"kinc", "export", "logs", "/tmp/x", "--name", "c"}, "flag --name after the arguments"},
		{[]string{"kinc", "export", "logs", "a", "b"}, "want at most 1 argument"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		err := NewApp(&out, &errOut).Run(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) || ExitCode(err) != 2 {
			t.Errorf("%v: err %v (exit %d), want %q and exit 2", tt.args, err, ExitCode(err), tt.want)
		}
	}
}
