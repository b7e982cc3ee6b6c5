package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"time"
)

// The signer of kubelet client certificates; the controller manager's csrsigning controller signs
// for it, and its csrapproving controller approves a bootstrap token's request for it.
const kubeletClientSigner = "kubernetes.io/kube-apiserver-client-kubelet"

// tlsBootstrap gets the kubelet's client certificate the way the kubelet's TLS bootstrap does: a
// fresh key, a CertificateSigningRequest for system:node:<name> in system:nodes made with the
// bootstrap token's client, then waiting until the controller manager approved and signed it.
// Returns the certificate and the key, PEM.
func tlsBootstrap(c *kubeClient, nodeName string, timeout time.Duration) ([]byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"}},
	}, key)
	if err != nil {
		return nil, nil, err
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	var created struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	err = c.do("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", "", map[string]any{
		"apiVersion": "certificates.k8s.io/v1",
		"kind":       "CertificateSigningRequest",
		"metadata":   map[string]any{"generateName": "csr-"},
		"spec": map[string]any{
			"request":    base64.StdEncoding.EncodeToString(csrPEM),
			"signerName": kubeletClientSigner,
			"usages":     []string{"digital signature", "client auth"},
		},
	}, &created)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the certificate signing request: %v", err)
	}
	fmt.Printf("[kubelet-start] certificate signing request %s sent\n", created.Metadata.Name)
	deadline := time.Now().Add(timeout)
	for {
		var csr struct {
			Status struct {
				Certificate string `json:"certificate"`
				Conditions  []struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"conditions"`
			} `json:"status"`
		}
		if err := c.do("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/"+created.Metadata.Name, "", nil, &csr); err != nil {
			return nil, nil, fmt.Errorf("reading certificate signing request %s: %v", created.Metadata.Name, err)
		}
		for _, cond := range csr.Status.Conditions {
			if cond.Type == "Denied" || cond.Type == "Failed" {
				return nil, nil, fmt.Errorf("certificate signing request %s %s: %s", created.Metadata.Name, cond.Type, cond.Message)
			}
		}
		if csr.Status.Certificate != "" {
			cert, err := base64.StdEncoding.DecodeString(csr.Status.Certificate)
			if err != nil {
				return nil, nil, fmt.Errorf("certificate of %s: %v", created.Metadata.Name, err)
			}
			keyDER, err := x509.MarshalECPrivateKey(key)
			if err != nil {
				return nil, nil, err
			}
			return cert, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("certificate signing request %s was not approved and signed within %s (is the controller manager running?)", created.Metadata.Name, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
