package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The kubelet stand-in registers the Node, keeps its Ready condition and a
// Lease fresh, and serves /healthz on 127.0.0.1:10248 and a TLS endpoint on
// :10250 (which answers 401 to everything). It runs no pods.
func kubeletMain(args []string) int {
	fs, err := parseFlags(args, map[string]bool{}, map[string]string{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log.SetFlags(log.Ldate | log.Ltime | log.Lmicroseconds)
	m := currentMachine()
	name := fs.get("hostname-override")
	if name == "" {
		name = strings.ToLower(m.hostname())
	}
	ip := fs.get("node-ip")
	kcPath := fs.get("kubeconfig")
	if kcPath == "" {
		kcPath = kubeletConf
	}
	kc, err := loadKubeconfig(kcPath)
	if err != nil {
		log.Printf("E failed to load kubeconfig %s: %v", kcPath, err)
		return 1
	}
	client, err := newKubeClientFor(kc, false)
	if err != nil {
		log.Printf("E %v", err)
		return 1
	}
	version := m.version()
	log.Printf("I Starting kubelet (AIOS world stand-in) version %s node %q ip %s", version, name, ip)

	// Listeners first, like the real kubelet: a taken port is fatal.
	cert, err := selfSignedCert(name, ip)
	if err != nil {
		log.Printf("E %v", err)
		return 1
	}
	l10250, err := net.Listen("tcp", ":10250")
	if err != nil {
		log.Printf("E failed to listen on 0.0.0.0:10250: %v", err)
		return 1
	}
	go func() {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
		}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ErrorLog: log.New(discard{}, "", 0)}
		_ = srv.ServeTLS(l10250, "", "")
	}()
	lh, err := net.Listen("tcp", "127.0.0.1:10248")
	if err != nil {
		log.Printf("E failed to listen on 127.0.0.1:10248: %v", err)
		return 1
	}
	go func() {
		_ = http.Serve(lh, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("ok"))
		}))
	}()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	k := &kubelet{m: m, c: client, name: name, ip: ip, version: version, labels: parseLabels(fs.get("node-labels"))}
	for {
		err := k.register()
		if err == nil {
			break
		}
		log.Printf("E Unable to register node with API server: %v", err)
		select {
		case <-sigs:
			return 0
		case <-time.After(2 * time.Second):
		}
	}
	_ = os.WriteFile(filepath.Join(kubeletDir, "registered"), []byte(name+"\n"), 0o644)
	log.Printf("I Successfully registered node %q", name)

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastBeat := time.Time{}
	for {
		ready := k.wantReady()
		if ready != k.ready || time.Since(lastBeat) >= 10*time.Second {
			if err := k.updateStatus(ready); err != nil {
				log.Printf("E Error updating node status, will retry: %v", err)
			} else {
				lastBeat = time.Now()
			}
			if err := k.renewLease(); err != nil {
				log.Printf("E Failed to update lease: %v", err)
			}
		}
		select {
		case s := <-sigs:
			log.Printf("I Received %v, shutting down", s)
			return 0
		case <-tick.C:
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k != "" {
			out[k] = v
		}
	}
	return out
}

type kubelet struct {
	m          machine
	c          *kubeClient
	name, ip   string
	version    string
	labels     map[string]string
	ready      bool
	transition time.Time
	leaseRV    string
}

func (k *kubelet) wantReady() bool {
	_, bad := k.m.fault("never-ready")
	return !bad
}

func (k *kubelet) nodeLabels() map[string]string {
	l := map[string]string{
		"kubernetes.io/hostname":  k.name,
		"kubernetes.io/os":        "linux",
		"kubernetes.io/arch":      runtime.GOARCH,
		"beta.kubernetes.io/os":   "linux",
		"beta.kubernetes.io/arch": runtime.GOARCH,
	}
	for a, b := range k.labels {
		l[a] = b
	}
	return l
}

func (k *kubelet) register() error {
	node := map[string]any{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{
			"name":        k.name,
			"labels":      k.nodeLabels(),
			"annotations": map[string]string{"volumes.kubernetes.io/controller-managed-attach-detach": "true", "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock"},
		},
		"spec": map[string]any{},
	}
	err := k.c.do("POST", "/api/v1/nodes", "", node, nil)
	if isStatus(err, 409) {
		// Re-join after reset: the Node object is still there; update it.
		log.Printf("I Node %q already exists, updating it", k.name)
		patch := map[string]any{"metadata": map[string]any{"labels": k.nodeLabels()}}
		err = k.c.do("PATCH", "/api/v1/nodes/"+k.name, "application/merge-patch+json", patch, nil)
	}
	if err != nil {
		return err
	}
	k.ready = !k.wantReady() // force the first status update
	return k.updateStatus(k.wantReady())
}

func memTotalKi() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				f := strings.Fields(l)
				if len(f) >= 2 {
					n, _ := strconv.ParseInt(f[1], 10, 64)
					return n
				}
			}
		}
	}
	return 8 * 1024 * 1024
}

func osImage() string {
	b, err := os.ReadFile("/etc/os-release")
	if err == nil {
		if mm := regexp.MustCompile(`(?m)^PRETTY_NAME="?([^"\n]*)"?`).FindStringSubmatch(string(b)); mm != nil {
			return mm[1]
		}
	}
	return "Linux"
}

func kernelVersion() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return ""
	}
	var b []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

func (k *kubelet) updateStatus(ready bool) error {
	now := time.Now().UTC().Format(time.RFC3339)
	if ready != k.ready || k.transition.IsZero() {
		k.transition = time.Now().UTC()
	}
	trans := k.transition.Format(time.RFC3339)
	readyCond := map[string]any{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": trans}
	if !ready {
		readyCond = map[string]any{"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized", "lastHeartbeatTime": now, "lastTransitionTime": trans}
	}
	cond := func(t, reason, msg string) map[string]any {
		return map[string]any{"type": t, "status": "False", "reason": reason, "message": msg, "lastHeartbeatTime": now, "lastTransitionTime": trans}
	}
	cpu := strconv.Itoa(runtime.NumCPU())
	mem := fmt.Sprintf("%dKi", memTotalKi())
	capacity := map[string]string{"cpu": cpu, "memory": mem, "pods": "110", "ephemeral-storage": "102400000Ki", "hugepages-2Mi": "0", "hugepages-1Gi": "0"}
	if g := k.m.gpus(); g > 0 {
		capacity["nvidia.com/gpu"] = strconv.Itoa(g)
	}
	sum := sha256.Sum256([]byte("aios-world-machine:" + k.m.setting("name", k.name)))
	mid := hex.EncodeToString(sum[:16])
	status := map[string]any{
		"capacity":    capacity,
		"allocatable": capacity,
		"conditions": []any{
			cond("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			readyCond,
		},
		"addresses": []any{
			map[string]string{"type": "InternalIP", "address": k.ip},
			map[string]string{"type": "Hostname", "address": k.name},
		},
		"daemonEndpoints": map[string]any{"kubeletEndpoint": map[string]any{"Port": 10250}},
		"nodeInfo": map[string]string{
			"machineID": mid, "systemUUID": fmt.Sprintf("%s-%s-%s-%s-%s", mid[0:8], mid[8:12], mid[12:16], mid[16:20], mid[20:32]),
			"bootID": mid, "kernelVersion": kernelVersion(), "osImage": osImage(),
			"containerRuntimeVersion": "containerd://2.1.4", "kubeletVersion": k.version, "kubeProxyVersion": "",
			"operatingSystem": "linux", "architecture": runtime.GOARCH,
		},
	}
	if k.ip == "" {
		status["addresses"] = []any{map[string]string{"type": "Hostname", "address": k.name}}
	}
	err := k.c.do("PATCH", "/api/v1/nodes/"+k.name+"/status", "application/merge-patch+json", map[string]any{"status": status}, nil)
	if err == nil {
		if ready != k.ready {
			log.Printf("I Node %q Ready=%v", k.name, ready)
			if err := k.syncNotReadyTaint(ready); err != nil {
				log.Printf("E updating the not-ready taint: %v", err)
			}
		}
		k.ready = ready
	}
	return err
}

// syncNotReadyTaint does what the node lifecycle controller (absent here)
// does with the taint that admission puts on every new Node: removes
// node.kubernetes.io/not-ready when Ready, adds it when not.
func (k *kubelet) syncNotReadyTaint(ready bool) error {
	const key = "node.kubernetes.io/not-ready"
	var n struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Spec struct {
			Taints []map[string]any `json:"taints"`
		} `json:"spec"`
	}
	if err := k.c.do("GET", "/api/v1/nodes/"+k.name, "", nil, &n); err != nil {
		return err
	}
	has := false
	taints := []map[string]any{}
	for _, t := range n.Spec.Taints {
		if t["key"] == key {
			has = true
			if !ready {
				taints = append(taints, t)
			}
			continue
		}
		taints = append(taints, t)
	}
	if has == !ready {
		return nil
	}
	if !ready {
		taints = append(taints, map[string]any{"key": key, "effect": "NoSchedule"})
	}
	// Like the controller's strategic-merge patch, an empty list removes the field, so nobody keeps
	// owning spec.taints (a server-side apply of declared taints would conflict with an empty list's owner).
	var value any = taints
	if len(taints) == 0 {
		value = nil
	}
	patch := map[string]any{"metadata": map[string]any{"resourceVersion": n.Metadata.ResourceVersion}, "spec": map[string]any{"taints": value}}
	return k.c.do("PATCH", "/api/v1/nodes/"+k.name, "application/merge-patch+json", patch, nil)
}

func (k *kubelet) renewLease() error {
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00")
	path := "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + k.name
	var cur struct {
		Metadata map[string]any `json:"metadata"`
	}
	err := k.c.do("GET", path, "", nil, &cur)
	spec := map[string]any{"holderIdentity": k.name, "leaseDurationSeconds": 40, "renewTime": now}
	if isStatus(err, 404) {
		return k.c.do("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", "", map[string]any{
			"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
			"metadata": map[string]any{"name": k.name, "namespace": "kube-node-lease"},
			"spec":     spec,
		}, nil)
	}
	if err != nil {
		return err
	}
	return k.c.do("PUT", path, "", map[string]any{
		"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
		"metadata": map[string]any{"name": k.name, "namespace": "kube-node-lease", "resourceVersion": cur.Metadata["resourceVersion"]},
		"spec":     spec,
	}, nil)
}

func selfSignedCert(name, ip string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name + "@" + strconv.FormatInt(time.Now().Unix(), 10)},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{name},
	}
	if p := net.ParseIP(ip); p != nil {
		tpl.IPAddresses = []net.IP{p}
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
