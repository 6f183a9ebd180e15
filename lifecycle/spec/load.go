package spec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// Load reads the spec file at path; see Parse.
func Load(path string) (*Cluster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cluster spec: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a spec strictly (unknown keys and wrong types are errors),
// fills in the defaults and validates it. Every problem is reported at once,
// each naming filename, the line and the full key path; the error is an
// *Error or a *multierror.Error of *Error. An empty document is the default
// cluster: one control-plane node. Unknown keys do not stop validation of
// the rest; syntax errors and wrong types do.
func Parse(filename string, data []byte) (*Cluster, error) {
	c, probs := decode(filename, data)
	if c != nil {
		c.SetDefaults()
		c.validate(probs)
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// Decode decodes a spec strictly, without defaults or validation. The
// Cluster remembers filename and the line of every key for Validate.
func Decode(filename string, data []byte) (*Cluster, error) {
	c, probs := decode(filename, data)
	if err := probs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// decode returns the problems of the document and, unless it has syntax
// errors or wrong types, the Cluster it holds, unknown keys left out.
func decode(filename string, data []byte) (*Cluster, *problems) {
	src := &source{name: filename, lines: map[string]int{}}
	probs := &problems{src: src}
	if fatal := scan(data, src, probs); fatal {
		return nil, probs
	}
	c := &Cluster{}
	dec := toml.NewDecoder(bytes.NewReader(data))
	if len(probs.errs) == 0 {
		// The scanner reported unknown keys already; when it found none,
		// go-toml double-checks.
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(c); err != nil {
		// The scanner catches unknown keys and wrong types with full key
		// paths; what is left (duplicate keys, redefined tables, ...) is
		// reported as go-toml sees it.
		var strict *toml.StrictMissingError
		var derr *toml.DecodeError
		switch {
		case errors.As(err, &strict):
			for i := range strict.Errors {
				e := &strict.Errors[i]
				line, _ := e.Position()
				probs.addAt(line, strings.Join(e.Key(), "."), "unknown key")
			}
		case errors.As(err, &derr):
			line, _ := derr.Position()
			probs.addAt(line, strings.Join(derr.Key(), "."), "%s", strings.TrimPrefix(derr.Error(), "toml: "))
		default:
			probs.addAt(0, "", "%v", err)
		}
		return nil, probs
	}
	c.src = src
	return c, probs
}
