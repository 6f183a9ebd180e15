package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/kinc-dev/kinc/nodeimage/addons/internal/kubeapi"
)

// Annotations and labels the provisioner reads or writes.
const (
	annSelectedNode  = "volume.kubernetes.io/selected-node" // set by the scheduler (WaitForFirstConsumer)
	annProvisionedBy = "pv.kubernetes.io/provisioned-by"    // names the deleter for the PV controller
	annNode          = "kinc.dev/local-path-node"           // the node whose disk holds the volume
	labelHostname    = "kubernetes.io/hostname"
)

// config is what one provisioner instance needs.
type config struct {
	nodeName    string // this instance's node: it serves claims selected for it, and only those
	provisioner string // the StorageClass provisioner name it answers to
	root        string // host directory holding the volumes, mounted at the same path
	interval    time.Duration
}

// ourClasses returns the reclaim policy of every StorageClass served by
// provisioner, keyed by class name.
func ourClasses(classes []StorageClass, provisioner string) map[string]string {
	out := map[string]string{}
	for _, c := range classes {
		if c.Provisioner != provisioner {
			continue
		}
		policy := c.ReclaimPolicy
		if policy == "" {
			policy = "Delete" // the API default
		}
		out[c.Metadata.Name] = policy
	}
	return out
}

// claimWanted tells whether this instance must provision claim: a pending,
// unbound claim of one of our classes that the scheduler placed on our node.
// A non-empty reason explains a claim that is ours but cannot be served.
func claimWanted(claim PVC, classes map[string]string, node string) (ok bool, reason string) {
	sc := claim.Spec.StorageClassName
	if sc == nil {
		return false, "" // the PV controller sets the default class on such claims
	}
	if _, ours := classes[*sc]; !ours {
		return false, ""
	}
	if claim.Spec.VolumeName != "" || claim.Metadata.DeletionTimestamp != nil {
		return false, ""
	}
	if claim.Status.Phase != "" && claim.Status.Phase != "Pending" {
		return false, ""
	}
	if claim.Metadata.Annotations[annSelectedNode] != node {
		return false, "" // not yet scheduled, or another node's instance serves it
	}
	if claim.Spec.VolumeMode == "Block" {
		return false, "block volumes are not supported, only volumeMode Filesystem"
	}
	if claim.Spec.DataSource != nil || claim.Spec.DataSourceRef != nil {
		return false, "volume data sources (snapshots, clones) are not supported"
	}
	if claim.Spec.Resources.Requests["storage"] == "" {
		return false, "the claim requests no storage size"
	}
	return true, ""
}

// pvName is the name of the PV for a claim: derived from the claim's UID so
// that a retry after a crash finds the same PV (409) instead of a second one.
func pvName(claim PVC) string { return "pvc-" + claim.Metadata.UID }

// safeName matches the PV names this provisioner makes and may delete the
// directories of.
var safeName = regexp.MustCompile(`^pvc-[0-9a-z][0-9a-z-]*$`)

// buildPV returns the PV for claim: a hostPath directory under root on node
// (whose kubernetes.io/hostname label is hostname), usable only there.
func buildPV(claim PVC, cfg config, hostname, reclaimPolicy string) PV {
	name := pvName(claim)
	modes := claim.Spec.AccessModes
	if len(modes) == 0 {
		modes = []string{"ReadWriteOnce"}
	}
	pv := PV{
		APIVersion: "v1",
		Kind:       "PersistentVolume",
		Metadata: ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				annProvisionedBy: cfg.provisioner,
				annNode:          cfg.nodeName,
			},
		},
		Spec: PVSpec{
			Capacity:                      map[string]string{"storage": claim.Spec.Resources.Requests["storage"]},
			AccessModes:                   modes,
			PersistentVolumeReclaimPolicy: reclaimPolicy,
			StorageClassName:              *claim.Spec.StorageClassName,
			VolumeMode:                    "Filesystem",
			HostPath:                      &HostPath{Path: filepath.Join(cfg.root, name), Type: "DirectoryOrCreate"},
			NodeAffinity:                  &NodeAffinity{},
			ClaimRef: &ObjectRef{
				APIVersion: "v1",
				Kind:       "PersistentVolumeClaim",
				Namespace:  claim.Metadata.Namespace,
				Name:       claim.Metadata.Name,
				UID:        claim.Metadata.UID,
			},
		},
	}
	pv.Spec.NodeAffinity.Required.NodeSelectorTerms = []NodeSelectorTerm{{
		MatchExpressions: []Requirement{{Key: labelHostname, Operator: "In", Values: []string{hostname}}},
	}}
	return pv
}

// releasedToDelete tells whether this instance must delete pv: one of ours,
// on our node, released by its claim, with reclaim policy Delete.
func releasedToDelete(pv PV, cfg config) bool {
	a := pv.Metadata.Annotations
	return a[annProvisionedBy] == cfg.provisioner &&
		a[annNode] == cfg.nodeName &&
		pv.Status.Phase == "Released" &&
		pv.Spec.PersistentVolumeReclaimPolicy == "Delete" &&
		pv.Metadata.DeletionTimestamp == nil
}

// volumeDir returns the directory of pv, refusing anything but
// <root>/<pv name> for a name this provisioner could have made.
func volumeDir(pv PV, root string) (string, error) {
	name := pv.Metadata.Name
	if !safeName.MatchString(name) {
		return "", fmt.Errorf("PV %s: not a name this provisioner makes; not touching its directory", name)
	}
	dir := filepath.Join(root, name)
	if pv.Spec.HostPath == nil || filepath.Clean(pv.Spec.HostPath.Path) != dir {
		return "", fmt.Errorf("PV %s: hostPath is not %s; not touching it", name, dir)
	}
	return dir, nil
}

// provisioner is one instance's state across passes.
type provisioner struct {
	cfg      config
	kube     *kubeapi.Client
	hostname string            // our node's kubernetes.io/hostname label, once read
	reported map[string]string // claim UID → last failure reported, to not repeat events
}

func newProvisioner(cfg config, kube *kubeapi.Client) *provisioner {
	return &provisioner{cfg: cfg, kube: kube, reported: map[string]string{}}
}

// once runs one pass: provision the claims placed on our node, then delete
// the released volumes of our node.
func (p *provisioner) once(ctx context.Context) error {
	var classes StorageClassList
	if err := p.kube.Do(ctx, "GET", "/apis/storage.k8s.io/v1/storageclasses?resourceVersion=0", nil, &classes); err != nil {
		return err
	}
	ours := ourClasses(classes.Items, p.cfg.provisioner)
	var errs []error

	var claims PVCList
	if err := p.kube.Do(ctx, "GET", "/api/v1/persistentvolumeclaims?resourceVersion=0", nil, &claims); err != nil {
		errs = append(errs, err)
	}
	sort.Slice(claims.Items, func(i, j int) bool { return claims.Items[i].Metadata.UID < claims.Items[j].Metadata.UID })
	for _, c := range claims.Items {
		ok, reason := claimWanted(c, ours, p.cfg.nodeName)
		if reason != "" {
			p.fail(ctx, c, reason)
		}
		if !ok {
			continue
		}
		if err := p.provision(ctx, c, ours[*c.Spec.StorageClassName]); err != nil {
			p.fail(ctx, c, err.Error())
			errs = append(errs, err)
		}
	}

	var pvs PVList
	if err := p.kube.Do(ctx, "GET", "/api/v1/persistentvolumes?resourceVersion=0", nil, &pvs); err != nil {
		errs = append(errs, err)
	}
	for _, pv := range pvs.Items {
		if !releasedToDelete(pv, p.cfg) {
			continue
		}
		if err := p.delete(ctx, pv); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *provisioner) provision(ctx context.Context, claim PVC, reclaimPolicy string) error {
	if p.hostname == "" {
		var n Node
		if err := p.kube.Do(ctx, "GET", "/api/v1/nodes/"+url.PathEscape(p.cfg.nodeName), nil, &n); err != nil {
			return fmt.Errorf("read node %s: %w", p.cfg.nodeName, err)
		}
		p.hostname = n.Metadata.Labels[labelHostname]
		if p.hostname == "" {
			p.hostname = p.cfg.nodeName
		}
	}
	pv := buildPV(claim, p.cfg, p.hostname, reclaimPolicy)
	ref := claim.Metadata.Namespace + "/" + claim.Metadata.Name

	// Make the directory ourselves, world-writable so that pods running as
	// any user can use it (kubelet's DirectoryOrCreate would make it 0755).
	if err := os.MkdirAll(pv.Spec.HostPath.Path, 0o777); err != nil {
		return fmt.Errorf("claim %s: %w", ref, err)
	}
	if err := os.Chmod(pv.Spec.HostPath.Path, 0o777); err != nil {
		return fmt.Errorf("claim %s: %w", ref, err)
	}

	err := p.kube.Do(ctx, "POST", "/api/v1/persistentvolumes", pv, nil)
	if kubeapi.IsStatus(err, 409) {
		// Created by an earlier pass whose answer we lost: fine if it is the
		// PV for this very claim.
		var existing PV
		if gerr := p.kube.Do(ctx, "GET", "/api/v1/persistentvolumes/"+url.PathEscape(pv.Metadata.Name), nil, &existing); gerr != nil {
			return fmt.Errorf("claim %s: PV %s exists but cannot be read: %w", ref, pv.Metadata.Name, gerr)
		}
		if existing.Spec.ClaimRef == nil || existing.Spec.ClaimRef.UID != claim.Metadata.UID {
			return fmt.Errorf("claim %s: PV %s already exists for another claim", ref, pv.Metadata.Name)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("claim %s: create PV: %w", ref, err)
	}
	log.Printf("provisioned PV %s (%s at %s on node %s) for claim %s",
		pv.Metadata.Name, pv.Spec.Capacity["storage"], pv.Spec.HostPath.Path, p.cfg.nodeName, ref)
	delete(p.reported, claim.Metadata.UID)
	p.event(ctx, claim, "Normal", "ProvisioningSucceeded",
		fmt.Sprintf("Successfully provisioned volume %s at %s on node %s", pv.Metadata.Name, pv.Spec.HostPath.Path, p.cfg.nodeName))
	return nil
}

func (p *provisioner) delete(ctx context.Context, pv PV) error {
	dir, err := volumeDir(pv, p.cfg.root)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("PV %s: remove %s: %w", pv.Metadata.Name, dir, err)
	}
	err = p.kube.Do(ctx, "DELETE", "/api/v1/persistentvolumes/"+url.PathEscape(pv.Metadata.Name), nil, nil)
	if err != nil && !kubeapi.IsStatus(err, 404) {
		return fmt.Errorf("PV %s: delete: %w", pv.Metadata.Name, err)
	}
	log.Printf("deleted released PV %s and its directory %s", pv.Metadata.Name, dir)
	return nil
}

// fail logs a claim's problem and records it as a Warning event on the claim,
// once per distinct message.
func (p *provisioner) fail(ctx context.Context, claim PVC, msg string) {
	if p.reported[claim.Metadata.UID] == msg {
		return
	}
	p.reported[claim.Metadata.UID] = msg
	log.Printf("claim %s/%s: %s", claim.Metadata.Namespace, claim.Metadata.Name, msg)
	p.event(ctx, claim, "Warning", "ProvisioningFailed", msg)
}

// event records an event on claim; failures are only logged.
func (p *provisioner) event(ctx context.Context, claim PVC, typ, reason, msg string) {
	now := time.Now().UTC().Format(time.RFC3339)
	ev := Event{
		APIVersion: "v1",
		Kind:       "Event",
		Metadata:   ObjectMeta{GenerateName: claim.Metadata.Name + ".", Namespace: claim.Metadata.Namespace},
		InvolvedObject: ObjectRef{
			APIVersion: "v1", Kind: "PersistentVolumeClaim",
			Namespace: claim.Metadata.Namespace, Name: claim.Metadata.Name, UID: claim.Metadata.UID,
		},
		Reason: reason, Message: msg, Type: typ,
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	ev.Source.Component = p.cfg.provisioner
	ev.Source.Host = p.cfg.nodeName
	path := "/api/v1/namespaces/" + url.PathEscape(claim.Metadata.Namespace) + "/events"
	if err := p.kube.Do(ctx, "POST", path, ev, nil); err != nil {
		log.Printf("record event on claim %s/%s: %v", claim.Metadata.Namespace, claim.Metadata.Name, err)
	}
}
