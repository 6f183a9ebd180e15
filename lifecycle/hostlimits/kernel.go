package hostlimits

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// IPVS says whether the host kernel can run kube-proxy's ipvs mode. Nodes
// share the host's kernel and cannot load modules into it, so without IPVS
// kube-proxy would start, find no ip_vs and crash-loop long after the
// cluster was made. proc is /proc; modules is /lib/modules.
func IPVS(proc, modules string) error {
	ipvs := filepath.Join(proc, "net", "ip_vs")
	if _, err := os.Stat(ipvs); err == nil {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(proc, "sys", "kernel", "osrelease"))
	if err != nil {
		return fmt.Errorf("read the kernel release: %w", err)
	}
	release := strings.TrimSpace(string(data))
	dir := filepath.Join(modules, release, "kernel", "net", "netfilter", "ipvs")
	if _, err := os.Stat(dir); err == nil {
		return errors.New("the host kernel's IPVS module is not loaded: load it with modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh")
	}
	return fmt.Errorf("the host kernel (%s) has no IPVS: %s is missing and no module is in %s", release, ipvs, dir)
}
