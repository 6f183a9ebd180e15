package main

// The parts of Kubernetes objects the provisioner reads and writes.

// ObjectMeta is metav1.ObjectMeta, trimmed.
type ObjectMeta struct {
	Name              string            `json:"name,omitempty"`
	GenerateName      string            `json:"generateName,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	UID               string            `json:"uid,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	DeletionTimestamp *string           `json:"deletionTimestamp,omitempty"`
}

// StorageClass is storage.k8s.io/v1 StorageClass, trimmed.
type StorageClass struct {
	Metadata          ObjectMeta `json:"metadata"`
	Provisioner       string     `json:"provisioner"`
	ReclaimPolicy     string     `json:"reclaimPolicy,omitempty"`
	VolumeBindingMode string     `json:"volumeBindingMode,omitempty"`
}

// StorageClassList is a list of StorageClasses.
type StorageClassList struct {
	Items []StorageClass `json:"items"`
}

// PVC is v1 PersistentVolumeClaim, trimmed.
type PVC struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		StorageClassName *string  `json:"storageClassName"`
		AccessModes      []string `json:"accessModes"`
		VolumeName       string   `json:"volumeName"`
		VolumeMode       string   `json:"volumeMode"`
		Resources        struct {
			Requests map[string]string `json:"requests"`
		} `json:"resources"`
		DataSource    *struct{} `json:"dataSource"`
		DataSourceRef *struct{} `json:"dataSourceRef"`
	} `json:"spec"`
	Status struct {
		Phase string `json:"phase"`
	} `json:"status"`
}

// PVCList is a list of PVCs.
type PVCList struct {
	Items []PVC `json:"items"`
}

// PV is v1 PersistentVolume, with what the provisioner writes.
type PV struct {
	APIVersion string     `json:"apiVersion,omitempty"`
	Kind       string     `json:"kind,omitempty"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       PVSpec     `json:"spec"`
	Status     struct {
		Phase string `json:"phase,omitempty"`
	} `json:"status,omitempty"`
}

// PVSpec is v1 PersistentVolumeSpec, trimmed.
type PVSpec struct {
	Capacity                      map[string]string `json:"capacity,omitempty"`
	AccessModes                   []string          `json:"accessModes,omitempty"`
	PersistentVolumeReclaimPolicy string            `json:"persistentVolumeReclaimPolicy,omitempty"`
	StorageClassName              string            `json:"storageClassName,omitempty"`
	VolumeMode                    string            `json:"volumeMode,omitempty"`
	HostPath                      *HostPath         `json:"hostPath,omitempty"`
	NodeAffinity                  *NodeAffinity     `json:"nodeAffinity,omitempty"`
	ClaimRef                      *ObjectRef        `json:"claimRef,omitempty"`
}

// HostPath is v1 HostPathVolumeSource.
type HostPath struct {
	Path string `json:"path"`
	Type string `json:"type,omitempty"`
}

// NodeAffinity is v1 VolumeNodeAffinity.
type NodeAffinity struct {
	Required struct {
		NodeSelectorTerms []NodeSelectorTerm `json:"nodeSelectorTerms"`
	} `json:"required"`
}

// NodeSelectorTerm is v1 NodeSelectorTerm with label expressions only.
type NodeSelectorTerm struct {
	MatchExpressions []Requirement `json:"matchExpressions"`
}

// Requirement is v1 NodeSelectorRequirement.
type Requirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

// ObjectRef is v1 ObjectReference, trimmed.
type ObjectRef struct {
	APIVersion      string `json:"apiVersion,omitempty"`
	Kind            string `json:"kind,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

// PVList is a list of PVs.
type PVList struct {
	Items []PV `json:"items"`
}

// Node is v1 Node, trimmed.
type Node struct {
	Metadata ObjectMeta `json:"metadata"`
}

// Event is v1 Event (core), trimmed.
type Event struct {
	APIVersion     string     `json:"apiVersion"`
	Kind           string     `json:"kind"`
	Metadata       ObjectMeta `json:"metadata"`
	InvolvedObject ObjectRef  `json:"involvedObject"`
	Reason         string     `json:"reason"`
	Message        string     `json:"message"`
	Type           string     `json:"type"`
	Source         struct {
		Component string `json:"component,omitempty"`
		Host      string `json:"host,omitempty"`
	} `json:"source"`
	FirstTimestamp string `json:"firstTimestamp"`
	LastTimestamp  string `json:"lastTimestamp"`
	Count          int    `json:"count"`
}
