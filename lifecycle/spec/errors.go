package spec

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Error is one problem in a spec: where it is and what is wrong.
type Error struct {
	File string // the spec file; empty for a Cluster not loaded from a file
	Line int    // 1-based; 0 when the key is not in the file (a default)
	Key  string // full key path, e.g. nodes[1].extra_mounts[0].host_path
	Msg  string
}

// Error formats the problem as "file:line: key: message".
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// problems collects Errors for one spec.
type problems struct {
	src  *source
	errs []*Error
}

// addf records a problem at key; its line is the key's line in the file, or
// the line of its closest ancestor that is in the file.
func (p *problems) addf(key, format string, args ...any) {
	p.errs = append(p.errs, p.src.errorAt(key, format, args...))
}

// errorAt is a problem at key, placed on the key's line (or its closest
// ancestor's) in the file.
func (s *source) errorAt(key, format string, args ...any) *Error {
	return &Error{File: s.file(), Line: s.line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
}

// addAt records a problem at a known line.
func (p *problems) addAt(line int, key, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.src.file(), Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// err returns nil, the only Error, or a *multierror.Error holding every
// Error in file order and printing one per line.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	if len(p.errs) == 1 {
		return p.errs[0]
	}
	var merr *multierror.Error
	for _, e := range p.errs {
		merr = multierror.Append(merr, e)
	}
	merr.ErrorFormat = formatProblems
	return merr
}

func formatProblems(errs []error) string {
	lines := make([]string, 0, len(errs)+1)
	lines = append(lines, fmt.Sprintf("%d problems in the spec:", len(errs)))
	for _, e := range errs {
		lines = append(lines, "  "+e.Error())
	}
	return strings.Join(lines, "\n")
}

// Key paths -------------------------------------------------------------

// child appends a key to a key path, quoting it when it is not a bare TOML
// key: labels."app.kubernetes.io/name".
func child(parent, key string) string {
	k := key
	if !isBareKey(key) {
		k = strconv.Quote(key)
	}
	if parent == "" {
		return k
	}
	return parent + "." + k
}

// index appends an array index to a key path: nodes[1].
func index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parentKey strips the last element of a key path (a key or an index).
func parentKey(key string) string {
	last := 0 // where the last element starts
	for i := 0; i < len(key); {
		last = i
		switch key[i] {
		case '[':
			j := strings.IndexByte(key[i:], ']')
			if j < 0 {
				return ""
			}
			i += j + 1
		case '"':
			q, err := strconv.QuotedPrefix(key[i:])
			if err != nil {
				return ""
			}
			i += len(q)
		default:
			j := strings.IndexAny(key[i:], ".[")
			if j < 0 {
				j = len(key) - i
			}
			i += j
		}
		if i < len(key) && key[i] == '.' {
			i++
		}
	}
	return strings.TrimSuffix(key[:last], ".")
}

// ErrorAt is a problem with the value at key found outside the spec (on the
// host, say), reported like a validation error: file, line and key.
func (c *Cluster) ErrorAt(key, format string, args ...any) error {
	return c.src.errorAt(key, format, args...)
}
