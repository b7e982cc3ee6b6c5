package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

type kubeconfig struct {
	Server string
	CAData []byte // PEM
	Token  string
	// A client certificate and key (PEM), as kubelet.conf holds them after the TLS bootstrap.
	CertData []byte
	KeyData  []byte
	User     string
}

func parseKubeconfig(src string) (kubeconfig, error) {
	docs, err := parseYAMLDocs(src)
	if err != nil || len(docs) == 0 {
		return kubeconfig{}, fmt.Errorf("invalid kubeconfig: %v", err)
	}
	d := docs[0]
	var kc kubeconfig
	clusters, _ := ypath(d, "clusters").([]any)
	if len(clusters) > 0 {
		kc.Server = ystring(clusters[0], "cluster", "server")
		if ca := ystring(clusters[0], "cluster", "certificate-authority-data"); ca != "" {
			b, err := base64.StdEncoding.DecodeString(ca)
			if err != nil {
				return kc, fmt.Errorf("invalid certificate-authority-data: %v", err)
			}
			kc.CAData = b
		}
	}
	users, _ := ypath(d, "users").([]any)
	if len(users) > 0 {
		kc.Token = ystring(users[0], "user", "token")
		for _, f := range []struct {
			key string
			dst *[]byte
		}{{"client-certificate-data", &kc.CertData}, {"client-key-data", &kc.KeyData}} {
			if v := ystring(users[0], "user", f.key); v != "" {
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					return kc, fmt.Errorf("invalid %s: %v", f.key, err)
				}
				*f.dst = b
			}
		}
		kc.User = ystring(users[0], "name")
	}
	if kc.Server == "" {
		return kc, fmt.Errorf("kubeconfig has no cluster server")
	}
	return kc, nil
}

func loadKubeconfig(path string) (kubeconfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return kubeconfig{}, err
	}
	return parseKubeconfig(string(b))
}

// caPublicKeyHash is what --discovery-token-ca-cert-hash pins: sha256 of the
// DER-encoded SubjectPublicKeyInfo of the CA certificate.
func caPublicKeyHash(caPEM []byte) (string, error) {
	blk, _ := pem.Decode(caPEM)
	if blk == nil {
		return "", fmt.Errorf("no PEM certificate found")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

type kubeClient struct {
	server string
	token  string
	http   *http.Client
}

func newKubeClient(server string, caPEM []byte, token string, insecure bool) (*kubeClient, error) {
	return newKubeClientFor(kubeconfig{Server: server, CAData: caPEM, Token: token}, insecure)
}

// newKubeClientFor authenticates with the kubeconfig's client certificate when it has one, else its token.
func newKubeClientFor(kc kubeconfig, insecure bool) (*kubeClient, error) {
	server, caPEM, token := kc.Server, kc.CAData, kc.Token
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(kc.CertData) > 0 {
		pair, err := tls.X509KeyPair(kc.CertData, kc.KeyData)
		if err != nil {
			return nil, fmt.Errorf("invalid client certificate: %v", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	if insecure {
		tc.InsecureSkipVerify = true
	} else {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("no valid CA certificate")
		}
		tc.RootCAs = pool
	}
	return &kubeClient{
		server: strings.TrimRight(server, "/"),
		token:  token,
		http: &http.Client{
			Timeout:   15 * time.Second,
			Transport: &http.Transport{TLSClientConfig: tc, Proxy: nil, DisableKeepAlives: false, MaxIdleConnsPerHost: 2},
		},
	}, nil
}

type apiError struct {
	Code    int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message) }

func isStatus(err error, code int) bool {
	ae, ok := err.(*apiError)
	return ok && ae.Code == code
}

func (c *kubeClient) do(method, path, contentType string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.server+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "kubeadm-standin/aios-world")
	if body != nil {
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		msg := strings.TrimSpace(string(data))
		var st struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &st) == nil && st.Message != "" {
			msg = st.Message
		}
		return &apiError{Code: resp.StatusCode, Message: msg}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
