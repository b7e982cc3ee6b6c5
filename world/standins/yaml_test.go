package main

import (
	"reflect"
	"testing"
)

func TestParseJoinConfiguration(t *testing.T) {
	src := `# comment
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: "10.213.0.1:6443"
    token: 'abcdef.0123456789abcdef'
    caCertHashes:
      - "sha256:aa"
      - sha256:bb   # trailing comment
  tlsBootstrapToken: x
nodeRegistration:
  name: "worker-1"
  kubeletExtraArgs:
  - name: node-labels
    value: "a=b,c=d"
  taints: []
---
kind: Other
`
	docs, err := parseYAMLDocs(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("want 2 docs, got %d", len(docs))
	}
	d := docs[0]
	if got := ystring(d, "discovery", "bootstrapToken", "apiServerEndpoint"); got != "10.213.0.1:6443" {
		t.Errorf("endpoint %q", got)
	}
	if got := ystring(d, "discovery", "bootstrapToken", "token"); got != "abcdef.0123456789abcdef" {
		t.Errorf("token %q", got)
	}
	if got := ypath(d, "discovery", "bootstrapToken", "caCertHashes"); !reflect.DeepEqual(got, []any{"sha256:aa", "sha256:bb"}) {
		t.Errorf("hashes %#v", got)
	}
	if got := ystring(d, "nodeRegistration", "name"); got != "worker-1" {
		t.Errorf("name %q", got)
	}
	args := ypath(d, "nodeRegistration", "kubeletExtraArgs").([]any)
	if ystring(args[0], "value") != "a=b,c=d" || ystring(args[0], "name") != "node-labels" {
		t.Errorf("extra args %#v", args)
	}
	if ystring(docs[1], "kind") != "Other" {
		t.Errorf("doc 2 %#v", docs[1])
	}
}

func TestParseKubeconfigSameIndentSequence(t *testing.T) {
	src := `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Zm9v
    server: https://10.213.0.1:6443
  name: ""
users:
- name: u
  user:
    token: abcdef.0123456789abcdef
`
	kc, err := parseKubeconfig(src)
	if err != nil {
		t.Fatal(err)
	}
	if kc.Server != "https://10.213.0.1:6443" || string(kc.CAData) != "foo" || kc.Token != "abcdef.0123456789abcdef" {
		t.Errorf("%+v", kc)
	}
}

func TestParseFlags(t *testing.T) {
	fs, err := parseFlags([]string{"10.0.0.1:6443", "--token", "t", "--discovery-token-ca-cert-hash=sha256:x", "--node-name", "n", "--discovery-token-unsafe-skip-ca-verification"},
		map[string]bool{"discovery-token-unsafe-skip-ca-verification": true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fs.pos[0] != "10.0.0.1:6443" || fs.get("token") != "t" || fs.get("node-name") != "n" || fs.get("discovery-token-ca-cert-hash") != "sha256:x" || !fs.bools["discovery-token-unsafe-skip-ca-verification"] {
		t.Errorf("%+v", fs)
	}
}
