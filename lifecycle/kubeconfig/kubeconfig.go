// Package kubeconfig merges a cluster's credentials into a kubeconfig file
// and removes them again, under a lock file as kubectl does.
package kubeconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"sigs.k8s.io/yaml"
)

// Path returns the kubeconfig file to write, as kubectl chooses it:
// explicit when given, else the first file of $KUBECONFIG that exists (else
// its last; empty entries are ignored), else ~/.kube/config.
func Path(explicit string) (string, error) {
	files, err := Paths(explicit)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			return f, nil
		}
	}
	return files[len(files)-1], nil
}

// Paths returns every kubeconfig file a context may be in, to remove it
// from all of them: explicit when given, else the files of $KUBECONFIG
// (empty entries ignored, each once), else ~/.kube/config.
func Paths(explicit string) ([]string, error) {
	if explicit != "" {
		return []string{explicit}, nil
	}
	var files []string
	for _, f := range filepath.SplitList(os.Getenv("KUBECONFIG")) {
		if f != "" && !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	if len(files) > 0 {
		return files, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("find the kubeconfig: %w", err)
	}
	return []string{filepath.Join(home, ".kube", "config")}, nil
}

// config is a kubeconfig kept as generic data so that merging never drops
// fields kinc does not know.
type config map[string]any

// Rename renames the cluster, user and context of a single-cluster
// kubeconfig (such as kubeadm's admin.conf) to name, points it at server,
// and returns it as YAML.
func Rename(adminConf []byte, name, server string) ([]byte, error) {
	var c config
	if err := yaml.Unmarshal(adminConf, &c); err != nil {
		return nil, fmt.Errorf("parse admin kubeconfig: %w", err)
	}
	clusters, users, contexts := list(c, "clusters"), list(c, "users"), list(c, "contexts")
	if len(clusters) != 1 || len(users) != 1 || len(contexts) != 1 {
		return nil, errors.New("admin kubeconfig: expected exactly one cluster, user and context")
	}
	clusters[0]["name"] = name
	if cl, ok := clusters[0]["cluster"].(map[string]any); ok && server != "" {
		cl["server"] = server
	}
	users[0]["name"] = name
	contexts[0]["name"] = name
	contexts[0]["context"] = map[string]any{"cluster": name, "user": name}
	c["current-context"] = name
	return yaml.Marshal(c)
}

func list(c config, key string) []map[string]any {
	raw, _ := c[key].([]any)
	var res []map[string]any
	for _, item := range raw {
		if m, ok := item.(map[string]any); ok {
			res = append(res, m)
		}
	}
	return res
}

func setList(c config, key string, items []map[string]any) {
	raw := make([]any, len(items))
	for i, it := range items {
		raw[i] = it
	}
	c[key] = raw
}

// Merge adds (or replaces) the cluster, user and context of the
// single-cluster kubeconfig in file and makes it the current context.
func Merge(file string, single []byte) error {
	var add config
	if err := yaml.Unmarshal(single, &add); err != nil {
		return fmt.Errorf("parse kubeconfig to merge: %w", err)
	}
	return update(file, func(c config) {
		for _, key := range []string{"clusters", "users", "contexts"} {
			for _, item := range list(add, key) {
				setList(c, key, append(without(list(c, key), item["name"]), item))
			}
		}
		c["current-context"] = add["current-context"]
	})
}

// Remove deletes the named cluster, user and context from file; the current
// context is cleared when it was that one. A missing file is not an error.
func Remove(file, name string) error {
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return update(file, func(c config) {
		for _, key := range []string{"clusters", "users", "contexts"} {
			setList(c, key, without(list(c, key), name))
		}
		if c["current-context"] == name {
			c["current-context"] = ""
		}
	})
}

// Contains reports whether file has a context called name.
func Contains(file, name string) (bool, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var c config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return false, fmt.Errorf("parse %s: %w", file, err)
	}
	return len(list(c, "contexts")) != len(without(list(c, "contexts"), name)), nil
}

func without(items []map[string]any, name any) []map[string]any {
	var res []map[string]any
	for _, it := range items {
		if it["name"] != name {
			res = append(res, it)
		}
	}
	return res
}

// update edits file under file.lock and writes it back in place, as kubectl
// does: a symlink stays a symlink (its target is written) and an existing
// file keeps its owner. The file holds admin credentials: its mode is 0600.
func update(file string, edit func(config)) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	unlock, err := lock(file)
	if err != nil {
		return err
	}
	defer unlock()
	c := config{}
	data, err := os.ReadFile(file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		c = config{"apiVersion": "v1", "kind": "Config", "preferences": map[string]any{}}
	case err != nil:
		return err
	default:
		if err := yaml.Unmarshal(data, &c); err != nil {
			return fmt.Errorf("parse %s: %w", file, err)
		}
		if c == nil {
			c = config{"apiVersion": "v1", "kind": "Config"}
		}
	}
	edit(c)
	out, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(out); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// lock takes file.lock the way client-go does (exclusive create), waiting a
// little for another writer to finish.
func lock(file string) (func(), error) {
	path := file + ".lock"
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) || time.Now().After(deadline) {
			return nil, fmt.Errorf("lock %s: %w (remove it if no kinc or kubectl is running)", path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
