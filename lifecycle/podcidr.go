package lifecycle

import (
	"encoding/json"
	"fmt"
	"net"
)

// nodePodCIDRs splits the pod subnet into one /24 per node, in node order.
// kinc assigns them itself (the controller manager's allocation is off) so
// that each node's CNI config exists before its kubelet starts: kubelet
// looks at the runtime's network status only every 5 seconds.
func nodePodCIDRs(podSubnet string, count int) ([]string, error) {
	_, subnet, err := net.ParseCIDR(podSubnet)
	if err != nil {
		return nil, fmt.Errorf("pod subnet %q: %w", podSubnet, err)
	}
	ones, bits := subnet.Mask.Size()
	if bits != 32 || ones > 24 || count > 1<<(24-ones) {
		return nil, fmt.Errorf("pod subnet %s cannot give %d nodes a /24 each", podSubnet, count)
	}
	base := subnet.IP.To4()
	var res []string
	for i := 0; i < count; i++ {
		ip := make(net.IP, 4)
		copy(ip, base)
		n := uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8
		n += uint32(i) << 8
		ip[0], ip[1], ip[2], ip[3] = byte(n>>24), byte(n>>16), byte(n>>8), 0
		res = append(res, (&net.IPNet{IP: ip, Mask: net.CIDRMask(24, 32)}).String())
	}
	return res, nil
}

// nodeList is the cluster's nodes as a v1 NodeList, the form kincnet reads
// from the API server and, before boot, from a file.
func nodeList(nodes []*Node) ([]byte, error) {
	type address struct {
		Type    string `json:"type"`
		Address string `json:"address"`
	}
	type node struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			PodCIDR  string   `json:"podCIDR"`
			PodCIDRs []string `json:"podCIDRs"`
		} `json:"spec"`
		Status struct {
			Addresses []address `json:"addresses"`
		} `json:"status"`
	}
	list := struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Items      []node `json:"items"`
	}{APIVersion: "v1", Kind: "NodeList"}
	for _, n := range nodes {
		var item node
		item.Metadata.Name = n.Name
		item.Spec.PodCIDR, item.Spec.PodCIDRs = n.PodCIDR, []string{n.PodCIDR}
		item.Status.Addresses = []address{{Type: "InternalIP", Address: n.IP}}
		list.Items = append(list.Items, item)
	}
	return json.MarshalIndent(list, "", "  ")
}

// podCIDRPatch sets a node's pod CIDR, as the controller manager would.
func podCIDRPatch(cidr string) string {
	p, _ := json.Marshal(map[string]any{"spec": map[string]any{"podCIDR": cidr, "podCIDRs": []string{cidr}}})
	return string(p)
}
