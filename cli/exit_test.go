package cli

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hashicorp/go-multierror"
)

func TestPrintError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"plain", errors.New("boom"), "ERROR: boom\n"},
		{"one of a multierror", multierror.Append(nil, errors.New("image x is not in docker")), "ERROR: image x is not in docker\n"},
		{"several", multierror.Append(nil, errors.New("a"), errors.New("b\nmore")), "ERROR: 2 errors:\n  a\n  b\n    more\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printError(&b, tc.err)
			if b.String() != tc.want {
				t.Errorf("printError:\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}
}
