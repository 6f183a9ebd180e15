package spec

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// source remembers where a Cluster came from: the file name and the line of
// every key path in it, so that validation can point at the file.
type source struct {
	name  string
	lines map[string]int // key path (nodes[1].labels.app) -> 1-based line
}

func (s *source) file() string {
	if s == nil {
		return ""
	}
	return s.name
}

// line is the line of key, or of its closest ancestor in the file; 0 when
// none is in the file.
func (s *source) line(key string) int {
	if s == nil {
		return 0
	}
	for k := key; k != ""; k = parentKey(k) {
		if l, ok := s.lines[k]; ok {
			return l
		}
	}
	return 0
}

// Given reports whether the spec file itself set key (a key path such as
// kubernetes_version), rather than leaving it to the defaults.
func (c *Cluster) Given(key string) bool {
	return c.src != nil && c.src.lines[key] > 0
}

// scanner walks go-toml's unstable AST of a document. It records the line of
// every key path and checks every key and value against the Go types of the
// spec, so that unknown keys and wrong types are all reported at once, with
// the full key path (including array indices) and the line.
type scanner struct {
	p      *unstable.Parser
	src    *source
	probs  *problems
	counts map[string]int // key path of an array of tables -> elements so far
	fatal  bool           // a problem other than an unknown key
	// lineStarts: the offset where each line starts.
	lineStarts []int
	// tables: the key path and Go type of the table the following key/values
	// belong to.
	table     string
	tableType reflect.Type
}

var clusterType = reflect.TypeOf(Cluster{})

// scan parses data, filling src.lines and reporting syntax errors, unknown
// keys and wrong types to probs. fatal: there were syntax errors or wrong
// types, not only unknown keys.
func scan(data []byte, src *source, probs *problems) (fatal bool) {
	s := &scanner{p: &unstable.Parser{}, src: src, probs: probs, counts: map[string]int{}, tableType: clusterType}
	s.p.Reset(data)
	s.lineStarts = []int{0}
	for i, c := range data {
		if c == '\n' {
			s.lineStarts = append(s.lineStarts, i+1)
		}
	}
	for s.p.NextExpression() {
		e := s.p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			s.keyValue(s.table, s.tableType, e)
		case unstable.Table:
			s.header(e, false)
		case unstable.ArrayTable:
			s.header(e, true)
		}
	}
	if err := s.p.Error(); err != nil {
		line := 0
		if pe, ok := err.(*unstable.ParserError); ok && pe.Highlight != nil {
			line = s.lineOf(pe.Highlight)
		}
		probs.addAt(line, "", "TOML syntax: %v", err)
		return true
	}
	return s.fatal
}

// lineOf is the line of a subslice of the document.
func (s *scanner) lineOf(b []byte) (line int) {
	defer func() { _ = recover() }() // not a subslice: no line
	return s.lineAt(int(s.p.Range(b).Offset))
}

// lineAt is the 1-based line of a byte offset in the document.
func (s *scanner) lineAt(offset int) int {
	return sort.SearchInts(s.lineStarts, offset+1)
}

// nodeLine is the line of a node: its own position, or its first
// descendant's that has one.
func (s *scanner) nodeLine(n *unstable.Node) int {
	if n == nil {
		return 0
	}
	if n.Raw.Length > 0 {
		return s.lineAt(int(n.Raw.Offset))
	}
	it := n.Children()
	for it.Next() {
		if l := s.nodeLine(it.Node()); l > 0 {
			return l
		}
	}
	return 0
}

func (s *scanner) record(key string, line int) {
	if _, ok := s.src.lines[key]; !ok && line > 0 {
		s.src.lines[key] = line
	}
}

// header handles [table] and [[array.of.tables]].
func (s *scanner) header(e *unstable.Node, array bool) {
	var parts []*unstable.Node
	it := e.Key()
	for it.Next() {
		parts = append(parts, it.Node())
	}
	line := s.nodeLine(parts[0])
	key, t := "", clusterType
	s.table, s.tableType = "", nil // until resolved: keys below are not checked again
	for i, part := range parts {
		name := string(part.Data)
		key = child(key, name)
		s.record(key, line)
		var ok bool
		if t, ok = s.field(key, t, name, line); !ok {
			return
		}
		last := i == len(parts)-1
		if t.Kind() == reflect.Slice {
			n := s.counts[key]
			switch {
			case last && array:
				s.counts[key] = n + 1
			case last:
				n = -1 // [key] for an array: must be [[key]]
			default:
				n-- // a.b with a an array of tables: the last a
			}
			if n < 0 || !isTable(t.Elem()) {
				hint := ""
				if isTable(t.Elem()) {
					hint = fmt.Sprintf(": write [[%s]] for each element", tomlKey(parts[:i+1]))
				}
				s.typeError(line, key, "expected %s%s", describe(t), hint)
				return
			}
			key, t = index(key, n), t.Elem()
			s.record(key, line)
		} else if last && array {
			s.typeError(line, key, "expected %s, not an array of tables", describe(t))
			return
		}
		if !isTable(t) {
			s.typeError(line, key, "expected %s, not a table", describe(t))
			return
		}
	}
	s.table, s.tableType = key, t
}

// field is the type of the key name inside a value of type t (a struct or a
// map); it reports unknown keys and keys inside non-tables.
func (s *scanner) field(key string, t reflect.Type, name string, line int) (reflect.Type, bool) {
	switch t.Kind() {
	case reflect.Map:
		return t.Elem(), true
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if tomlName(t.Field(i)) == name {
				return t.Field(i).Type, true
			}
		}
		for _, known := range knownKeys(t) {
			if strings.EqualFold(name, known) {
				// go-toml would decode it anyway: stop before validation
				// reports on a value the user did not mean to set.
				s.typeError(line, key, "unknown key: keys are case-sensitive, did you mean %s?", known)
				return nil, false
			}
			if squash(name) == squash(known) {
				s.probs.addAt(line, key, "unknown key: did you mean %s?", known)
				return nil, false
			}
		}
		s.probs.addAt(line, key, "unknown key (known keys here: %s)", strings.Join(knownKeys(t), ", "))
		return nil, false
	default:
		p := parentKey(key)
		s.typeError(line, p, "expected %s, not a table", describe(t))
		return nil, false
	}
}

// keyValue handles key = value inside the table at key path table of type t
// (nil: the table was already reported).
func (s *scanner) keyValue(table string, t reflect.Type, e *unstable.Node) {
	if t == nil {
		return
	}
	key := table
	it := e.Key()
	first := true
	var line int
	for it.Next() {
		k := it.Node()
		if first {
			line = s.nodeLine(k)
			first = false
		}
		name := string(k.Data)
		key = child(key, name)
		s.record(key, line)
		var ok bool
		if t, ok = s.field(key, t, name, line); !ok {
			return
		}
		if !it.IsLast() && t.Kind() == reflect.Slice {
			s.typeError(line, key, "expected %s; a dotted key cannot go into an array", describe(t))
			return
		}
	}
	s.value(key, t, e.Value(), line)
}

// value checks a value node against the Go type t and records the lines of
// array elements and inline-table keys.
func (s *scanner) value(key string, t reflect.Type, v *unstable.Node, line int) {
	if l := s.nodeLine(v); l > 0 {
		line = l
	}
	ok := false
	switch v.Kind {
	case unstable.String:
		ok = t.Kind() == reflect.String
	case unstable.Bool:
		ok = t.Kind() == reflect.Bool
	case unstable.Integer:
		ok = t.Kind() == reflect.Int
	case unstable.Array:
		if ok = t.Kind() == reflect.Slice; ok {
			i := 0
			it := v.Children()
			for it.Next() {
				el := it.Node()
				if el.Kind == unstable.Comment {
					continue
				}
				k := index(key, i)
				s.record(k, s.nodeLine(el))
				s.value(k, t.Elem(), el, line)
				i++
			}
			s.counts[key] = i
		}
	case unstable.InlineTable:
		if ok = isTable(t); ok {
			it := v.Children()
			for it.Next() {
				if kv := it.Node(); kv.Kind == unstable.KeyValue {
					s.keyValue(key, t, kv)
				}
			}
		}
	}
	if !ok {
		s.typeError(line, key, "expected %s, not %s", describe(t), describeKind(v.Kind))
	}
}

func isTable(t reflect.Type) bool {
	return t.Kind() == reflect.Struct || t.Kind() == reflect.Map
}

func tomlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

func knownKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if n := tomlName(t.Field(i)); n != "" && n != "-" {
			keys = append(keys, n)
		}
	}
	sort.Strings(keys)
	return keys
}

// describe says in words what a value of Go type t looks like in TOML.
func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int:
		return "an integer"
	case reflect.Slice:
		if isTable(t.Elem()) {
			return "an array of tables"
		}
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describe(t.Elem()), "a "), "an ") + "s"
	case reflect.Map:
		return "a table of " + strings.TrimPrefix(strings.TrimPrefix(describe(t.Elem()), "a "), "an ") + "s"
	case reflect.Struct:
		return "a table"
	}
	return t.String()
}

func describeKind(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Bool:
		return "a boolean"
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a float"
	case unstable.Array:
		return "an array"
	case unstable.InlineTable:
		return "a table"
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		return "a date/time"
	}
	return k.String()
}

// tomlKey writes key parts as a dotted TOML key.
func tomlKey(parts []*unstable.Node) string {
	key := ""
	for _, p := range parts {
		key = child(key, string(p.Data))
	}
	return key
}

// typeError reports a value or table of the wrong type: decoding stops.
func (s *scanner) typeError(line int, key, format string, args ...any) {
	s.fatal = true
	s.probs.addAt(line, key, format, args...)
}

// squash folds the spellings of a key that people mix up: HostPath,
// host-path, hostpath.
func squash(key string) string {
	return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(key))
}
