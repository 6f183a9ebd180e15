package spec

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

var yamlLineRE = regexp.MustCompile(`line (\d+): `)

// jsonPatchOps are RFC 6902 operations and the fields each needs.
var jsonPatchOps = map[string][]string{
	"add": {"path", "value"}, "remove": {"path"}, "replace": {"path", "value"},
	"move": {"from", "path"}, "copy": {"from", "path"}, "test": {"path", "value"},
}

// checkPatch parses a kubeadm patch as kubeadm will: a YAML (or JSON)
// mapping for strategic and merge patches, a list of RFC 6902 operations
// for json patches. It returns the problem and the line in the patch text
// it is on (0: not known).
func checkPatch(typ, text string) (string, int) {
	data, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
		line := 0
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = strings.Replace(msg, m[0], "", 1)
		}
		return "not valid YAML: " + strings.TrimPrefix(msg, "yaml: "), line
	}
	switch typ {
	case "json":
		var ops []map[string]any
		if err := json.Unmarshal(data, &ops); err != nil {
			return "a json patch is a list of operations (- op: add, path: /a/b, value: ...), not " + describeJSON(data), 0
		}
		if len(ops) == 0 {
			return "a json patch needs at least one operation", 0
		}
		for i, op := range ops {
			name, _ := op["op"].(string)
			need, ok := jsonPatchOps[name]
			if !ok {
				return fmt.Sprintf("operation %d: op %q is not add, remove, replace, move, copy or test", i, name), 0
			}
			for _, f := range need {
				if _, ok := op[f]; !ok {
					return fmt.Sprintf("operation %d (%s): %q is missing", i, name, f), 0
				}
				if s, isString := op[f].(string); (f == "path" || f == "from") && (!isString || (s != "" && !strings.HasPrefix(s, "/"))) {
					return fmt.Sprintf("operation %d (%s): %s %v is not a JSON pointer (/a/b)", i, name, f, op[f]), 0
				}
			}
		}
	default:
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
			return fmt.Sprintf("a %s patch is a YAML mapping (the fields to change), not %s", typ, describeJSON(data)), 0
		}
	}
	return "", 0
}

func describeJSON(data []byte) string {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return "that"
	}
	switch v.(type) {
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case string:
		return "a string"
	case nil:
		return "empty"
	}
	return "a scalar"
}
