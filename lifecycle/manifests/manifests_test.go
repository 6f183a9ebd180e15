package manifests

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// object is one decoded manifest item.
type object map[string]any

func (o object) get(path ...any) any {
	var cur any = map[string]any(o)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[k]
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			cur = l[k]
		}
	}
	return cur
}

func (o object) str(path ...any) string {
	s, _ := o.get(path...).(string)
	return s
}

// decode parses a rendered List and indexes its items by "Kind/name".
func decode(t *testing.T, data []byte) map[string]object {
	t.Helper()
	var list struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Items      []object `json:"items"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	if list.APIVersion != "v1" || list.Kind != "List" {
		t.Fatalf("top level is %s %s, want v1 List", list.APIVersion, list.Kind)
	}
	out := map[string]object{}
	for _, it := range list.Items {
		if it.str("apiVersion") == "" || it.str("kind") == "" || it.str("metadata", "name") == "" {
			t.Fatalf("item without apiVersion, kind or name: %v", it)
		}
		key := it.str("kind") + "/" + it.str("metadata", "name")
		if _, dup := out[key]; dup {
			t.Fatalf("duplicate %s", key)
		}
		out[key] = it
	}
	return out
}

func keys(m map[string]object) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func envOf(t *testing.T, c object) map[string]object {
	t.Helper()
	env := map[string]object{}
	list, _ := c.get("env").([]any)
	for _, e := range list {
		eo := object(e.(map[string]any))
		env[eo.str("name")] = eo
	}
	return env
}

// checkPodSpec checks what both add-ons' pods need on a kinc node.
func checkPodSpec(t *testing.T, ds object, image, serviceAccount string) object {
	t.Helper()
	if ds.str("metadata", "namespace") != "kube-system" {
		t.Errorf("DaemonSet namespace %q", ds.str("metadata", "namespace"))
	}
	sel := ds.get("spec", "selector", "matchLabels")
	if sel == nil || !reflect.DeepEqual(sel, map[string]any{"app": ds.str("spec", "template", "metadata", "labels", "app")}) {
		t.Errorf("selector %v does not match the template labels", sel)
	}
	pod := object(ds.get("spec", "template", "spec").(map[string]any))
	if pod.get("hostNetwork") != true {
		t.Error("hostNetwork is not true")
	}
	if pod.str("serviceAccountName") != serviceAccount {
		t.Errorf("serviceAccountName %q, want %q", pod.str("serviceAccountName"), serviceAccount)
	}
	// Tolerating everything covers control-plane taints and
	// node.kubernetes.io/not-ready (the CNI runs before nodes are Ready).
	if !reflect.DeepEqual(pod.get("tolerations"), []any{map[string]any{"operator": "Exists"}}) {
		t.Errorf("tolerations %v, want one operator Exists", pod.get("tolerations"))
	}
	c := object(pod.get("containers", 0).(map[string]any))
	if c.str("image") != image {
		t.Errorf("image %q, want %q", c.str("image"), image)
	}
	if c.str("imagePullPolicy") != "Never" {
		t.Errorf("imagePullPolicy %q, want Never (nothing can be pulled)", c.str("imagePullPolicy"))
	}
	env := envOf(t, c)
	if env["NODE_NAME"].str("valueFrom", "fieldRef", "fieldPath") != "spec.nodeName" {
		t.Errorf("NODE_NAME not from spec.nodeName: %v", env["NODE_NAME"])
	}
	// Every mount has a volume.
	vols := map[string]object{}
	for _, v := range pod.get("volumes").([]any) {
		vo := object(v.(map[string]any))
		vols[vo.str("name")] = vo
	}
	for _, m := range c.get("volumeMounts").([]any) {
		if _, ok := vols[object(m.(map[string]any)).str("name")]; !ok {
			t.Errorf("mount %v has no volume", m)
		}
	}
	return c
}

func checkRBAC(t *testing.T, objs map[string]object, name string, wantRules map[string][]string) {
	t.Helper()
	sa, ok := objs["ServiceAccount/"+name]
	if !ok || sa.str("metadata", "namespace") != "kube-system" {
		t.Fatalf("ServiceAccount %s in kube-system missing: %v", name, keys(objs))
	}
	crb := objs["ClusterRoleBinding/"+name]
	if crb.str("roleRef", "kind") != "ClusterRole" || crb.str("roleRef", "name") != name ||
		crb.str("subjects", 0, "kind") != "ServiceAccount" || crb.str("subjects", 0, "name") != name ||
		crb.str("subjects", 0, "namespace") != "kube-system" {
		t.Errorf("ClusterRoleBinding %s does not bind the ClusterRole to the ServiceAccount: %v", name, crb)
	}
	got := map[string][]string{}
	for _, r := range objs["ClusterRole/"+name].get("rules").([]any) {
		ro := object(r.(map[string]any))
		var verbs []string
		for _, v := range ro.get("verbs").([]any) {
			verbs = append(verbs, v.(string))
		}
		for _, res := range ro.get("resources").([]any) {
			got[ro.str("apiGroups", 0)+"/"+res.(string)] = verbs
		}
	}
	if !reflect.DeepEqual(got, wantRules) {
		t.Errorf("ClusterRole %s rules %v, want %v", name, got, wantRules)
	}
}

func TestKincNet(t *testing.T) {
	tests := []struct {
		name     string
		cfg      KincNetConfig
		wantHost string
		wantPort string
	}{
		{name: "defaults", cfg: KincNetConfig{Image: "kinc.dev/kincnet:v0.1.0", PodSubnet: "10.244.0.0/16"}},
		{name: "explicit API server", cfg: KincNetConfig{Image: "localhost/kincnet@sha256:abc", PodSubnet: "10.200.0.0/16", APIServerHost: "kinc-control-plane", APIServerPort: 6443},
			wantHost: "kinc-control-plane", wantPort: "6443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := KincNet(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			objs := decode(t, data)
			if len(objs) != 4 {
				t.Fatalf("items %v, want 4", keys(objs))
			}
			checkRBAC(t, objs, "kincnet", map[string][]string{"/nodes": {"get", "list", "watch"}})
			ds, ok := objs["DaemonSet/kincnet"]
			if !ok {
				t.Fatalf("no DaemonSet/kincnet in %v", keys(objs))
			}
			c := checkPodSpec(t, ds, tt.cfg.Image, "kincnet")
			if c.get("securityContext", "privileged") != true {
				t.Error("kincnet is not privileged (needs NET_ADMIN)")
			}
			env := envOf(t, c)
			if env["POD_SUBNET"].str("value") != tt.cfg.PodSubnet {
				t.Errorf("POD_SUBNET %v, want %s", env["POD_SUBNET"], tt.cfg.PodSubnet)
			}
			if env["KUBERNETES_SERVICE_HOST"].str("value") != tt.wantHost || env["KUBERNETES_SERVICE_PORT"].str("value") != tt.wantPort {
				t.Errorf("API server env %v %v, want %q %q", env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"], tt.wantHost, tt.wantPort)
			}
			mounts := map[string]bool{}
			for _, m := range c.get("volumeMounts").([]any) {
				mounts[object(m.(map[string]any)).str("mountPath")] = true
			}
			if !mounts["/etc/cni/net.d"] || !mounts["/run/xtables.lock"] {
				t.Errorf("mounts %v, want /etc/cni/net.d and /run/xtables.lock", mounts)
			}
			pod := object(ds.get("spec", "template", "spec").(map[string]any))
			for _, v := range pod.get("volumes").([]any) {
				vo := object(v.(map[string]any))
				if vo.str("name") == "cni-config" && vo.str("hostPath", "path") != "/etc/cni/net.d" {
					t.Errorf("cni-config volume is %v, want host /etc/cni/net.d", vo)
				}
			}
			if pod.str("priorityClassName") != "system-node-critical" {
				t.Errorf("priorityClassName %q", pod.str("priorityClassName"))
			}
		})
	}
}

func TestStorageProvisioner(t *testing.T) {
	data, err := StorageProvisioner(StorageConfig{Image: "kinc.dev/local-path:v0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	objs := decode(t, data)
	if len(objs) != 5 {
		t.Fatalf("items %v, want 5", keys(objs))
	}
	checkRBAC(t, objs, "kinc-local-path", map[string][]string{
		"/persistentvolumeclaims":       {"get", "list", "watch"},
		"/persistentvolumes":            {"get", "list", "watch", "create", "delete"},
		"/nodes":                        {"get", "list", "watch"},
		"/events":                       {"create", "patch"},
		"storage.k8s.io/storageclasses": {"get", "list", "watch"},
	})
	ds, ok := objs["DaemonSet/kinc-local-path"]
	if !ok {
		t.Fatalf("no DaemonSet/kinc-local-path in %v", keys(objs))
	}
	c := checkPodSpec(t, ds, "kinc.dev/local-path:v0.1.0", "kinc-local-path")
	args := c.get("args")
	if !reflect.DeepEqual(args, []any{"--provisioner-name", ProvisionerName, "--root", VolumeDir}) {
		t.Errorf("args %v", args)
	}
	if c.str("volumeMounts", 0, "mountPath") != VolumeDir {
		t.Errorf("volume dir not mounted at the same path: %v", c.get("volumeMounts"))
	}
	pod := object(ds.get("spec", "template", "spec").(map[string]any))
	if pod.str("volumes", 0, "hostPath", "path") != VolumeDir {
		t.Errorf("volume dir hostPath %v", pod.get("volumes"))
	}

	sc, ok := objs["StorageClass/standard"]
	if !ok {
		t.Fatalf("no StorageClass/standard in %v", keys(objs))
	}
	if sc.str("apiVersion") != "storage.k8s.io/v1" ||
		sc.str("metadata", "annotations", "storageclass.kubernetes.io/is-default-class") != "true" ||
		sc.str("provisioner") != ProvisionerName ||
		sc.str("reclaimPolicy") != "Delete" ||
		sc.str("volumeBindingMode") != "WaitForFirstConsumer" {
		t.Errorf("StorageClass %v", sc)
	}
}

func TestValuesAreQuotedNotInjected(t *testing.T) {
	// A hostile value must stay one JSON string, whatever it contains.
	data, err := Render(KincNetManifest, KincNetConfig{Image: `x", "privileged": false, "y": "`, PodSubnet: "10.244.0.0/16\n}"})
	if err != nil {
		t.Fatal(err)
	}
	ds := decode(t, data)["DaemonSet/kincnet"]
	c := object(ds.get("spec", "template", "spec", "containers", 0).(map[string]any))
	if c.str("image") != `x", "privileged": false, "y": "` {
		t.Fatalf("image became %q", c.str("image"))
	}
	if envOf(t, c)["POD_SUBNET"].str("value") != "10.244.0.0/16\n}" {
		t.Fatalf("POD_SUBNET became %v", envOf(t, c)["POD_SUBNET"])
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name    string
		render  func() ([]byte, error)
		wantErr string
	}{
		{"kincnet no image", func() ([]byte, error) { return KincNet(KincNetConfig{PodSubnet: "10.244.0.0/16"}) }, "image missing"},
		{"kincnet image with space", func() ([]byte, error) { return KincNet(KincNetConfig{Image: "a b", PodSubnet: "10.244.0.0/16"}) }, "not an image"},
		{"kincnet no subnet", func() ([]byte, error) { return KincNet(KincNetConfig{Image: "i"}) }, "pod subnet missing"},
		{"kincnet bad subnet", func() ([]byte, error) { return KincNet(KincNetConfig{Image: "i", PodSubnet: "10.244.0.0"}) }, "10.244.0.0"},
		{"kincnet bad port", func() ([]byte, error) {
			return KincNet(KincNetConfig{Image: "i", PodSubnet: "10.244.0.0/16", APIServerHost: "h"})
		}, "port 0"},
		{"storage no image", func() ([]byte, error) { return StorageProvisioner(StorageConfig{}) }, "image missing"},
		{"storage relative dir", func() ([]byte, error) { return StorageProvisioner(StorageConfig{Image: "i", VolumeDir: "vols"}) }, "absolute"},
		{"unknown manifest", func() ([]byte, error) { return Render("flannel", nil) }, "kincnet, storage"},
		{"missing field", func() ([]byte, error) { return Render(StorageManifest, map[string]string{"Image": "i"}) }, "ProvisionerName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.render()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDualStackSubnetAccepted(t *testing.T) {
	data, err := KincNet(KincNetConfig{Image: "i", PodSubnet: "10.244.0.0/16,fd00:10:244::/56"})
	if err != nil {
		t.Fatal(err)
	}
	c := object(decode(t, data)["DaemonSet/kincnet"].get("spec", "template", "spec", "containers", 0).(map[string]any))
	if envOf(t, c)["POD_SUBNET"].str("value") != "10.244.0.0/16,fd00:10:244::/56" {
		t.Fatal("dual-stack POD_SUBNET not passed through")
	}
}

func TestNames(t *testing.T) {
	if got := Names(); !reflect.DeepEqual(got, []string{KincNetManifest, StorageManifest}) {
		t.Fatalf("Names() = %v", got)
	}
}
