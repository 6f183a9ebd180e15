package imageref

import (
	"archive/tar"
	"bytes"
	"errors"
	"runtime"
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := map[string]string{
		"myapp":                        "docker.io/library/myapp:latest",
		"myapp:dev":                    "docker.io/library/myapp:dev",
		"me/myapp:dev":                 "docker.io/me/myapp:dev",
		"localhost/myapp:dev":          "localhost/myapp:dev",
		"localhost:5000/myapp":         "localhost:5000/myapp:latest",
		"registry.k8s.io/pause:3.10.1": "registry.k8s.io/pause:3.10.1",
		"index.docker.io/me/app:1":     "docker.io/me/app:1",
		"myapp@sha256:abc":             "docker.io/library/myapp@sha256:abc",
		"host:5000/a/b":                "host:5000/a/b:latest",
	}
	for in, want := range tests {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestInspect(t *testing.T) {
	oci := map[string]string{
		"oci-layout": `{"imageLayoutVersion":"1.0.0"}`,
		"index.json": `{"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:i1",` +
			`"annotations":{"org.opencontainers.image.ref.name":"myapp:oci"}}]}`,
		"blobs/sha256/i1": `{"manifests":[{"digest":"sha256:m0","platform":{"os":"linux","architecture":"s390x"}},` +
			`{"digest":"sha256:m1","platform":{"os":"linux","architecture":"` + runtime.GOARCH + `"}}]}`,
		"blobs/sha256/m1": `{"config":{"digest":"sha256:c1"},"layers":[]}`,
	}
	tests := []struct {
		name    string
		archive []byte
		want    []Image
		wantErr bool
	}{
		{name: "docker save (docker 20)", archive: tarOf(t, map[string]string{
			"manifest.json": `[{"Config":"0123abcd.json","RepoTags":["myapp:dev"],"Layers":["l/layer.tar"]}]`,
		}), want: []Image{{Names: []string{"myapp:dev"}, Config: "sha256:0123abcd"}}},
		{name: "docker save (docker 25+, OCI blobs)", archive: tarOf(t, map[string]string{
			"manifest.json": `[{"Config":"blobs/sha256/feed","RepoTags":["localhost/myapp:dev"]}]`,
			"index.json":    `{}`,
		}), want: []Image{{Names: []string{"localhost/myapp:dev"}, Config: "sha256:feed"}}},
		{name: "OCI layout with a multi-platform index", archive: tarOf(t, oci), want: []Image{{Names: []string{"myapp:oci"}, Config: "sha256:c1"}}},
		{name: "a tar that is no image", archive: tarOf(t, map[string]string{"hello.txt": "hi"}), wantErr: true},
		{name: "not a tar", archive: []byte("just some text, not a tar archive at all, long enough for a header? no." + string(make([]byte, 600))), wantErr: true},
		{name: "empty", archive: nil, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Inspect(bytes.NewReader(tt.archive))
			if tt.wantErr {
				if !errors.Is(err, ErrNotArchive) {
					t.Fatalf("err = %v, want ErrNotArchive", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i].Config != tt.want[i].Config || !slices.Equal(got[i].Names, tt.want[i].Names) {
					t.Errorf("image %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
