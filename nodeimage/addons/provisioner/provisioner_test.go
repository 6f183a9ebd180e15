package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/kinc-dev/kinc/nodeimage/addons/internal/kubeapi"
)

// claimJSON is a PVC as the API server returns it after the scheduler chose
// a node for a WaitForFirstConsumer claim.
const claimJSON = `{
  "apiVersion": "v1", "kind": "PersistentVolumeClaim",
  "metadata": {
    "name": "data", "namespace": "default", "uid": "0c6a4f3e-1b2d-4c5e-9f00-123456789abc",
    "annotations": {
      "volume.kubernetes.io/selected-node": "kinc-worker",
      "volume.kubernetes.io/storage-provisioner": "kinc.dev/local-path"
    }
  },
  "spec": {
    "accessModes": ["ReadWriteOnce"],
    "resources": {"requests": {"storage": "1Gi"}},
    "storageClassName": "standard",
    "volumeMode": "Filesystem"
  },
  "status": {"phase": "Pending"}
}`

func testClaim(t *testing.T, edit func(*PVC)) PVC {
	t.Helper()
	var c PVC
	if err := json.Unmarshal([]byte(claimJSON), &c); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&c)
	}
	return c
}

func strp(s string) *string { return &s }

var testCfg = config{nodeName: "kinc-worker", provisioner: "kinc.dev/local-path", root: "/var/local-path-provisioner"}

func TestOurClasses(t *testing.T) {
	classes := []StorageClass{
		{Metadata: ObjectMeta{Name: "standard"}, Provisioner: "kinc.dev/local-path", ReclaimPolicy: "Delete"},
		{Metadata: ObjectMeta{Name: "keep"}, Provisioner: "kinc.dev/local-path", ReclaimPolicy: "Retain"},
		{Metadata: ObjectMeta{Name: "nopolicy"}, Provisioner: "kinc.dev/local-path"},
		{Metadata: ObjectMeta{Name: "other"}, Provisioner: "example.com/nfs"},
	}
	got := ourClasses(classes, "kinc.dev/local-path")
	want := map[string]string{"standard": "Delete", "keep": "Retain", "nopolicy": "Delete"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestClaimWanted(t *testing.T) {
	classes := map[string]string{"standard": "Delete"}
	tests := []struct {
		name       string
		edit       func(*PVC)
		want       bool
		wantReason string
	}{
		{name: "placed on our node", want: true},
		{name: "placed on another node", edit: func(c *PVC) { c.Metadata.Annotations[annSelectedNode] = "kinc-worker2" }},
		{name: "not scheduled yet", edit: func(c *PVC) { delete(c.Metadata.Annotations, annSelectedNode) }},
		{name: "other class", edit: func(c *PVC) { c.Spec.StorageClassName = strp("nfs") }},
		{name: "no class", edit: func(c *PVC) { c.Spec.StorageClassName = nil }},
		{name: "empty class (explicitly none)", edit: func(c *PVC) { c.Spec.StorageClassName = strp("") }},
		{name: "already bound", edit: func(c *PVC) { c.Spec.VolumeName = "pvc-x"; c.Status.Phase = "Bound" }},
		{name: "binding in progress", edit: func(c *PVC) { c.Spec.VolumeName = "pvc-x" }},
		{name: "being deleted", edit: func(c *PVC) { c.Metadata.DeletionTimestamp = strp("2026-01-01T00:00:00Z") }},
		{name: "phase unset", edit: func(c *PVC) { c.Status.Phase = "" }, want: true},
		{name: "block", edit: func(c *PVC) { c.Spec.VolumeMode = "Block" }, wantReason: "block"},
		{name: "snapshot source", edit: func(c *PVC) { c.Spec.DataSource = &struct{}{} }, wantReason: "data sources"},
		{name: "no size", edit: func(c *PVC) { c.Spec.Resources.Requests = nil }, wantReason: "no storage size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := claimWanted(testClaim(t, tt.edit), classes, "kinc-worker")
			if got != tt.want {
				t.Errorf("wanted = %v, want %v", got, tt.want)
			}
			if (tt.wantReason == "") != (reason == "") || !strings.Contains(reason, tt.wantReason) {
				t.Errorf("reason %q, want one containing %q", reason, tt.wantReason)
			}
		})
	}
}

func TestBuildPV(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*PVC)
		policy    string
		wantModes []string
	}{
		{name: "rwo delete", policy: "Delete", wantModes: []string{"ReadWriteOnce"}},
		{name: "rwop retain", policy: "Retain", edit: func(c *PVC) { c.Spec.AccessModes = []string{"ReadWriteOncePod"} }, wantModes: []string{"ReadWriteOncePod"}},
		{name: "no modes", policy: "Delete", edit: func(c *PVC) { c.Spec.AccessModes = nil }, wantModes: []string{"ReadWriteOnce"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claim := testClaim(t, tt.edit)
			pv := buildPV(claim, testCfg, "kinc-worker-host", tt.policy)
			data, err := json.Marshal(pv)
			if err != nil {
				t.Fatal(err)
			}
			// Read back as the API server would, generically.
			var got map[string]any
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			checks := map[string]any{
				"apiVersion":    "v1",
				"kind":          "PersistentVolume",
				"metadata.name": "pvc-0c6a4f3e-1b2d-4c5e-9f00-123456789abc",
				"metadata.annotations.pv\\.kubernetes\\.io/provisioned-by": "kinc.dev/local-path",
				"metadata.annotations.kinc\\.dev/local-path-node":          "kinc-worker",
				"spec.capacity.storage":                                    "1Gi",
				"spec.persistentVolumeReclaimPolicy":                       tt.policy,
				"spec.storageClassName":                                    "standard",
				"spec.volumeMode":                                          "Filesystem",
				"spec.hostPath.path":                                       "/var/local-path-provisioner/pvc-0c6a4f3e-1b2d-4c5e-9f00-123456789abc",
				"spec.hostPath.type":                                       "DirectoryOrCreate",
				"spec.claimRef.kind":                                       "PersistentVolumeClaim",
				"spec.claimRef.namespace":                                  "default",
				"spec.claimRef.name":                                       "data",
				"spec.claimRef.uid":                                        "0c6a4f3e-1b2d-4c5e-9f00-123456789abc",
			}
			for path, want := range checks {
				if v := lookup(got, path); v != want {
					t.Errorf("%s = %v, want %v", path, v, want)
				}
			}
			var modes []string
			for _, m := range lookup(got, "spec.accessModes").([]any) {
				modes = append(modes, m.(string))
			}
			if !reflect.DeepEqual(modes, tt.wantModes) {
				t.Errorf("accessModes %v, want %v", modes, tt.wantModes)
			}
			terms := lookup(got, "spec.nodeAffinity.required.nodeSelectorTerms").([]any)
			expr := terms[0].(map[string]any)["matchExpressions"].([]any)[0].(map[string]any)
			if len(terms) != 1 || expr["key"] != "kubernetes.io/hostname" || expr["operator"] != "In" ||
				!reflect.DeepEqual(expr["values"], []any{"kinc-worker-host"}) {
				t.Errorf("node affinity %v", terms)
			}
			if _, ok := got["status"]; ok && len(got["status"].(map[string]any)) != 0 {
				t.Errorf("a new PV must not carry a status: %v", got["status"])
			}
		})
	}
}

// lookup follows a dotted path; "\." is a literal dot in a key.
func lookup(m map[string]any, path string) any {
	var cur any = m
	for _, k := range splitPath(path) {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func splitPath(p string) []string {
	const dot = "\x00"
	p = strings.ReplaceAll(p, `\.`, dot)
	parts := strings.Split(p, ".")
	for i := range parts {
		parts[i] = strings.ReplaceAll(parts[i], dot, ".")
	}
	return parts
}

func releasedPV(name, node string, edit func(*PV)) PV {
	pv := PV{Metadata: ObjectMeta{Name: name, Annotations: map[string]string{annProvisionedBy: "kinc.dev/local-path", annNode: node}}}
	pv.Spec.PersistentVolumeReclaimPolicy = "Delete"
	pv.Spec.HostPath = &HostPath{Path: "/var/local-path-provisioner/" + name}
	pv.Status.Phase = "Released"
	if edit != nil {
		edit(&pv)
	}
	return pv
}

func TestReleasedToDelete(t *testing.T) {
	tests := []struct {
		name string
		pv   PV
		want bool
	}{
		{name: "ours, released, delete", pv: releasedPV("pvc-1", "kinc-worker", nil), want: true},
		{name: "other node's", pv: releasedPV("pvc-1", "kinc-worker2", nil)},
		{name: "bound", pv: releasedPV("pvc-1", "kinc-worker", func(p *PV) { p.Status.Phase = "Bound" })},
		{name: "retain", pv: releasedPV("pvc-1", "kinc-worker", func(p *PV) { p.Spec.PersistentVolumeReclaimPolicy = "Retain" })},
		{name: "another provisioner's", pv: releasedPV("pvc-1", "kinc-worker", func(p *PV) { p.Metadata.Annotations[annProvisionedBy] = "rancher.io/local-path" })},
		{name: "being deleted", pv: releasedPV("pvc-1", "kinc-worker", func(p *PV) { p.Metadata.DeletionTimestamp = strp("x") })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := releasedToDelete(tt.pv, testCfg); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVolumeDir(t *testing.T) {
	tests := []struct {
		name    string
		pv      PV
		want    string
		wantErr bool
	}{
		{name: "ok", pv: releasedPV("pvc-ab-12", "n", nil), want: "/var/local-path-provisioner/pvc-ab-12"},
		{name: "odd name", pv: releasedPV("../etc", "n", nil), wantErr: true},
		{name: "path elsewhere", pv: releasedPV("pvc-1", "n", func(p *PV) { p.Spec.HostPath.Path = "/etc" }), wantErr: true},
		{name: "no hostPath", pv: releasedPV("pvc-1", "n", func(p *PV) { p.Spec.HostPath = nil }), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := volumeDir(tt.pv, "/var/local-path-provisioner")
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("got %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// fakeAPI is an in-memory API server with just what the provisioner uses.
type fakeAPI struct {
	mu      sync.Mutex
	claims  []PVC
	pvs     map[string]PV
	events  []Event
	creates int
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(v any) { json.NewEncoder(w).Encode(v) }
	switch p := r.URL.Path; {
	case r.Method == "GET" && p == "/apis/storage.k8s.io/v1/storageclasses":
		reply(StorageClassList{Items: []StorageClass{{Metadata: ObjectMeta{Name: "standard"}, Provisioner: "kinc.dev/local-path", ReclaimPolicy: "Delete"}}})
	case r.Method == "GET" && p == "/api/v1/persistentvolumeclaims":
		reply(PVCList{Items: f.claims})
	case r.Method == "GET" && p == "/api/v1/nodes/kinc-worker":
		reply(Node{Metadata: ObjectMeta{Name: "kinc-worker", Labels: map[string]string{labelHostname: "kinc-worker"}}})
	case r.Method == "GET" && p == "/api/v1/persistentvolumes":
		var l PVList
		for _, pv := range f.pvs {
			l.Items = append(l.Items, pv)
		}
		reply(l)
	case r.Method == "GET" && strings.HasPrefix(p, "/api/v1/persistentvolumes/"):
		pv, ok := f.pvs[strings.TrimPrefix(p, "/api/v1/persistentvolumes/")]
		if !ok {
			http.Error(w, "{}", http.StatusNotFound)
			return
		}
		reply(pv)
	case r.Method == "POST" && p == "/api/v1/persistentvolumes":
		var pv PV
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &pv); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.creates++
		if _, ok := f.pvs[pv.Metadata.Name]; ok {
			http.Error(w, `{"kind":"Status","reason":"AlreadyExists"}`, http.StatusConflict)
			return
		}
		f.pvs[pv.Metadata.Name] = pv
		w.WriteHeader(http.StatusCreated)
		reply(pv)
	case r.Method == "DELETE" && strings.HasPrefix(p, "/api/v1/persistentvolumes/"):
		name := strings.TrimPrefix(p, "/api/v1/persistentvolumes/")
		if _, ok := f.pvs[name]; !ok {
			http.Error(w, "{}", http.StatusNotFound)
			return
		}
		delete(f.pvs, name)
		reply(map[string]string{"kind": "Status", "status": "Success"})
	case r.Method == "POST" && strings.HasSuffix(p, "/events"):
		var ev Event
		json.NewDecoder(r.Body).Decode(&ev)
		f.events = append(f.events, ev)
		w.WriteHeader(http.StatusCreated)
		reply(ev)
	default:
		http.Error(w, "unexpected "+r.Method+" "+p, http.StatusTeapot)
	}
}

func TestProvisionAndDeleteAgainstFakeAPI(t *testing.T) {
	api := &fakeAPI{pvs: map[string]PV{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	kube, err := kubeapi.New(srv.URL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testCfg
	cfg.root = t.TempDir()
	p := newProvisioner(cfg, kube)
	ctx := context.Background()

	claim := testClaim(t, nil)
	other := testClaim(t, func(c *PVC) {
		c.Metadata.UID = "other-uid"
		c.Metadata.Annotations[annSelectedNode] = "kinc-worker2"
	})
	block := testClaim(t, func(c *PVC) {
		c.Metadata.UID = "block-uid"
		c.Metadata.Name = "raw"
		c.Spec.VolumeMode = "Block"
	})
	api.claims = []PVC{claim, other, block}

	if err := p.once(ctx); err != nil {
		t.Fatal(err)
	}
	name := pvName(claim)
	pv, ok := api.pvs[name]
	if !ok || len(api.pvs) != 1 {
		t.Fatalf("PVs after one pass: %v; want only %s", api.pvs, name)
	}
	dir := filepath.Join(cfg.root, name)
	if pv.Spec.HostPath.Path != dir {
		t.Fatalf("hostPath %s, want %s", pv.Spec.HostPath.Path, dir)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o777 {
		t.Fatalf("volume dir: %v, %v; want a 0777 directory", fi, err)
	}
	var reasons []string
	for _, ev := range api.events {
		reasons = append(reasons, ev.InvolvedObject.Name+":"+ev.Reason)
	}
	if strings.Join(reasons, ",") != "data:ProvisioningSucceeded,raw:ProvisioningFailed" &&
		strings.Join(reasons, ",") != "raw:ProvisioningFailed,data:ProvisioningSucceeded" {
		t.Fatalf("events %v", reasons)
	}

	// The claim is still Pending when the next pass runs (the PV controller
	// has not bound it yet): the create conflicts and that is fine. The
	// block claim's failure is not reported again.
	if err := p.once(ctx); err != nil {
		t.Fatalf("second pass: %v", err)
	}
	if api.creates != 2 || len(api.pvs) != 1 || len(api.events) != 2 {
		t.Fatalf("second pass: %d creates, %d PVs, %d events; want 2, 1, 2", api.creates, len(api.pvs), len(api.events))
	}

	// A PV of that name bound to some other claim is an error, not success.
	api.claims = []PVC{testClaim(t, nil)}
	stolen := api.pvs[name]
	stolen.Spec.ClaimRef = &ObjectRef{UID: "someone-else"}
	api.pvs[name] = stolen
	if err := p.once(ctx); err == nil || !strings.Contains(err.Error(), "another claim") {
		t.Fatalf("conflicting PV: got %v, want an error", err)
	}

	// The claim is deleted: the PV controller marks the PV Released. We remove
	// the directory, then the PV. Another node's released PV is left alone.
	api.claims = nil
	released := api.pvs[name]
	released.Status.Phase = "Released"
	api.pvs[name] = released
	os.WriteFile(filepath.Join(dir, "data.txt"), []byte("x"), 0o644)
	theirs := releasedPV("pvc-theirs", "kinc-worker2", nil)
	api.pvs["pvc-theirs"] = theirs
	if err := p.once(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := api.pvs[name]; ok {
		t.Fatal("released PV not deleted")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("volume dir still there: %v", err)
	}
	if _, ok := api.pvs["pvc-theirs"]; !ok {
		t.Fatal("another node's PV was deleted")
	}
}

func TestParseFlags(t *testing.T) {
	t.Setenv("NODE_NAME", "")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "ok", args: []string{"--node-name", "w"}},
		{name: "no node", args: nil, wantErr: "NODE_NAME"},
		{name: "relative root", args: []string{"--node-name", "w", "--root", "vols"}, wantErr: "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, _, _, err := parseFlags(tt.args)
			if tt.wantErr == "" {
				if err != nil || cfg.provisioner != "kinc.dev/local-path" || cfg.root != "/var/local-path-provisioner" {
					t.Fatalf("got %+v, %v", cfg, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
