package spec

import (
	"bytes"

	toml "github.com/pelletier/go-toml/v2"
)

// Encode writes the spec as TOML that Parse reads back to the same Cluster:
// every scalar is written (so defaults show), empty tables and arrays and an
// empty node image are left out, and patches are multi-line strings (the
// omitempty and multiline options on the types' tags).
func (c *Cluster) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.SetIndentTables(false)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
