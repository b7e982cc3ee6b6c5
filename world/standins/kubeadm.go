package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	kubeletConf       = "/etc/kubernetes/kubelet.conf"
	pkiDir            = "/etc/kubernetes/pki"
	caCrtPath         = "/etc/kubernetes/pki/ca.crt"
	kubeletDir        = "/var/lib/kubelet"
	kubeletConfigYAML = "/var/lib/kubelet/config.yaml"
	kubeletFlagsEnv   = "/var/lib/kubelet/kubeadm-flags.env"
	kubeletPidFile    = "/var/lib/kubelet/kubelet.pid"
	kubeletLogFile    = "/var/lib/kubelet/kubelet.log"
	bootstrapGroup    = "system:bootstrappers:kubeadm:default-node-token"
)

var tokenRE = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)
var dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func kubeadmMain(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(kubeadmUsage)
		return 0
	}
	switch args[0] {
	case "version":
		return kubeadmVersion(args[1:])
	case "join":
		return kubeadmJoin(args[1:])
	case "reset":
		return kubeadmReset(args[1:])
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q for \"kubeadm\" (this is the AIOS world stand-in: only version, join and reset are implemented)\nTo see the stack trace of this error execute with --v=5 or higher\n", args[0])
		return 1
	}
}

const kubeadmUsage = `

    ┌──────────────────────────────────────────────────────────┐
    │ KUBEADM                                                  │
    │ Easily bootstrap a secure Kubernetes cluster             │
    └──────────────────────────────────────────────────────────┘

(AIOS world stand-in: implements version, join and reset.)

Usage:
  kubeadm [command]

Available Commands:
  join        Run this on any machine you wish to join an existing cluster
  reset       Performs a best effort revert of changes made to this host by 'kubeadm init' or 'kubeadm join'
  version     Print the version of kubeadm
`

// flagset: a tiny long-flag parser (--name=value, --name value, -o value).
type flagset struct {
	values map[string][]string
	bools  map[string]bool
	pos    []string
	set    []string
}

func parseFlags(args []string, boolFlags map[string]bool, short map[string]string) (*flagset, error) {
	fs := &flagset{values: map[string][]string{}, bools: map[string]bool{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			fs.pos = append(fs.pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			fs.pos = append(fs.pos, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		val, hasVal := "", false
		if j := strings.IndexByte(name, '='); j >= 0 {
			name, val, hasVal = name[:j], name[j+1:], true
		}
		if !strings.HasPrefix(a, "--") {
			if long, ok := short[name]; ok {
				name = long
			} else if len(name) > 1 && short[name[:1]] != "" {
				name, val, hasVal = short[name[:1]], name[1:], true
			} else {
				return nil, fmt.Errorf("unknown shorthand flag: %q in %s", name, a)
			}
		}
		fs.set = append(fs.set, name)
		if boolFlags[name] {
			fs.bools[name] = !hasVal || val == "true"
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("flag needs an argument: --%s", name)
			}
			i++
			val = args[i]
		}
		fs.values[name] = append(fs.values[name], val)
	}
	return fs, nil
}

func (f *flagset) get(name string) string {
	v := f.values[name]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func (f *flagset) has(name string) bool {
	for _, s := range f.set {
		if s == name {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- version

func kubeadmVersion(args []string) int {
	fs, err := parseFlags(args, nil, map[string]string{"o": "output"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	m := currentMachine()
	v := m.version()
	major, minor := "1", ""
	if mm := regexp.MustCompile(`^v?(\d+)\.(\d+)`).FindStringSubmatch(v); mm != nil {
		major, minor = mm[1], mm[2]
	}
	info := map[string]string{
		"major": major, "minor": minor, "gitVersion": v,
		"gitCommit": "8a1c2f0e9b7d4c3a5e6f7a8b9c0d1e2f3a4b5c6d", "gitTreeState": "clean",
		"buildDate": "2026-09-10T14:02:11Z", "goVersion": "go1.26.8", "compiler": "gc",
		"platform": "linux/" + runtime.GOARCH,
	}
	switch fs.get("output") {
	case "short":
		fmt.Println(v)
	case "json":
		b, _ := json.MarshalIndent(map[string]any{"clientVersion": info}, "", "  ")
		fmt.Println(string(b))
	case "yaml":
		fmt.Println("clientVersion:")
		for _, k := range []string{"buildDate", "compiler", "gitCommit", "gitTreeState", "gitVersion", "goVersion", "major", "minor", "platform"} {
			fmt.Printf("  %s: %s\n", k, yamlQuote(info[k]))
		}
	case "":
		fmt.Printf("kubeadm version: &version.Info{Major:%q, Minor:%q, EmulationMajor:\"\", EmulationMinor:\"\", MinCompatibilityMajor:\"\", MinCompatibilityMinor:\"\", GitVersion:%q, GitCommit:%q, GitTreeState:%q, BuildDate:%q, GoVersion:%q, Compiler:%q, Platform:%q}\n",
			major, minor, v, info["gitCommit"], "clean", info["buildDate"], "go1.26.8", "gc", info["platform"])
	default:
		fmt.Fprintf(os.Stderr, "error: invalid output format: %s\nTo see the stack trace of this error execute with --v=5 or higher\n", fs.get("output"))
		return 1
	}
	return 0
}

func yamlQuote(s string) string {
	if regexp.MustCompile(`^[0-9]+$`).MatchString(s) || strings.ContainsAny(s, ":") {
		return strconv.Quote(s)
	}
	return s
}

// ---------------------------------------------------------------- join

type joinParams struct {
	endpoint     string
	token        string
	caHashes     []string
	unsafeSkipCA bool
	nodeName     string
	ignore       map[string]bool
	discoveryTO  time.Duration
	tlsTO        time.Duration
}

func fatal(format string, a ...any) int {
	fmt.Fprintf(os.Stderr, format+"\nTo see the stack trace of this error execute with --v=5 or higher\n", a...)
	return 1
}

func tokenID(tok string) string {
	if i := strings.IndexByte(tok, '.'); i >= 0 {
		return tok[:i]
	}
	return tok
}

func kubeadmJoin(args []string) int {
	m := currentMachine()
	fs, err := parseFlags(args, map[string]bool{
		"discovery-token-unsafe-skip-ca-verification": true, "control-plane": true, "dry-run": true,
	}, map[string]string{})
	if err != nil {
		return fatal("%v", err)
	}
	if msg, ok := m.fault("join-fails"); ok {
		if msg == "" {
			msg = "error execution phase preflight: injected failure"
		}
		fmt.Fprintln(os.Stderr, msg)
		return 1
	}
	if _, ok := m.fault("join-hangs"); ok {
		fmt.Println("[preflight] Running pre-flight checks")
		for {
			time.Sleep(time.Hour)
		}
	}
	if fs.bools["control-plane"] {
		return fatal("error execution phase preflight: joining control-plane nodes is not supported by the AIOS world kubeadm stand-in")
	}
	p := joinParams{ignore: map[string]bool{}, discoveryTO: 5 * time.Minute, tlsTO: 5 * time.Minute}
	for _, v := range fs.values["ignore-preflight-errors"] {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				p.ignore[strings.ToLower(x)] = true
			}
		}
	}
	if cfgPath := fs.get("config"); cfgPath != "" {
		var mixed []string
		for _, f := range fs.set {
			switch f {
			case "token", "discovery-token", "tls-bootstrap-token", "discovery-token-ca-cert-hash",
				"discovery-token-unsafe-skip-ca-verification", "discovery-file", "apiserver-advertise-address",
				"apiserver-bind-port", "cri-socket", "certificate-key":
				mixed = append(mixed, f)
			}
		}
		if len(mixed) > 0 || len(fs.pos) > 0 {
			if len(fs.pos) > 0 {
				mixed = append(mixed, "api-server-endpoint")
			}
			return fatal("can not mix '--config' with arguments %v", mixed)
		}
		b, err := os.ReadFile(cfgPath)
		if err != nil {
			return fatal("unable to read config from %q : %v", cfgPath, err)
		}
		docs, err := parseYAMLDocs(string(b))
		if err != nil {
			return fatal("unable to decode config from %q: %v", cfgPath, err)
		}
		var jc any
		for _, d := range docs {
			if ystring(d, "kind") == "JoinConfiguration" {
				jc = d
			}
		}
		if jc == nil {
			return fatal("no JoinConfiguration kind was found in the YAML file")
		}
		av := ystring(jc, "apiVersion")
		if av != "kubeadm.k8s.io/v1beta4" && av != "kubeadm.k8s.io/v1beta3" {
			return fatal("your configuration file uses an old or unknown API spec: %q. Please use kubeadm v1.22 instead and run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version.", av)
		}
		p.endpoint = ystring(jc, "discovery", "bootstrapToken", "apiServerEndpoint")
		p.token = ystring(jc, "discovery", "bootstrapToken", "token")
		if p.token == "" {
			p.token = ystring(jc, "discovery", "tlsBootstrapToken")
		}
		if hs, ok := ypath(jc, "discovery", "bootstrapToken", "caCertHashes").([]any); ok {
			for _, h := range hs {
				p.caHashes = append(p.caHashes, fmt.Sprint(h))
			}
		}
		p.unsafeSkipCA = ystring(jc, "discovery", "bootstrapToken", "unsafeSkipCAVerification") == "true"
		p.nodeName = ystring(jc, "nodeRegistration", "name")
		if ips, ok := ypath(jc, "nodeRegistration", "ignorePreflightErrors").([]any); ok {
			for _, x := range ips {
				p.ignore[strings.ToLower(fmt.Sprint(x))] = true
			}
		}
		if d, err := time.ParseDuration(ystring(jc, "timeouts", "discovery")); err == nil && d > 0 {
			p.discoveryTO = d
		}
		if d, err := time.ParseDuration(ystring(jc, "timeouts", "tlsBootstrap")); err == nil && d > 0 {
			p.tlsTO = d
		}
		if ystring(jc, "discovery", "file", "kubeConfigPath") != "" {
			return fatal("file-based discovery is not supported by the AIOS world kubeadm stand-in")
		}
	} else {
		if len(fs.pos) > 0 {
			p.endpoint = fs.pos[0]
		}
		p.token = fs.get("token")
		if t := fs.get("discovery-token"); t != "" {
			p.token = t
		}
		p.caHashes = fs.values["discovery-token-ca-cert-hash"]
		p.unsafeSkipCA = fs.bools["discovery-token-unsafe-skip-ca-verification"]
	}
	if n := fs.get("node-name"); n != "" {
		p.nodeName = n
	}
	if p.nodeName == "" {
		p.nodeName = strings.ToLower(m.hostname())
	}
	// Validation, with kubeadm's wording.
	if p.endpoint == "" {
		return fatal("discovery: Invalid value: \"\": bootstrapToken or file must be set")
	}
	if p.token == "" {
		return fatal("discovery.bootstrapToken.token: Invalid value: \"\": the bootstrap token is invalid")
	}
	if !tokenRE.MatchString(p.token) {
		// Unlike the real kubeadm we never echo the token value.
		return fatal("discovery.bootstrapToken.token: Invalid value: \"<redacted>\": the bootstrap token is invalid")
	}
	if len(p.caHashes) == 0 && !p.unsafeSkipCA {
		return fatal("discovery.bootstrapToken: Invalid value: \"\": using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue")
	}
	for _, h := range p.caHashes {
		if !regexp.MustCompile(`^sha256:[0-9a-fA-F]{64}$`).MatchString(h) {
			return fatal("discovery.bootstrapToken.caCertHashes: Invalid value: %q: invalid hash %q, expected a \"sha256:\" prefix and 64 hex digits", h, h)
		}
	}
	if len(p.nodeName) > 253 || !dns1123Subdomain.MatchString(p.nodeName) {
		return fatal("nodeRegistration.name: Invalid value: %q: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')", p.nodeName)
	}
	if _, _, err := net.SplitHostPort(p.endpoint); err != nil {
		return fatal("discovery.bootstrapToken.apiServerEndpoint: Invalid value: %q: %v", p.endpoint, err)
	}

	// Preflight checks.
	fmt.Println("[preflight] Running pre-flight checks")
	type check struct{ name, msg string }
	var errs []check
	if _, err := os.Stat(kubeletConf); err == nil {
		errs = append(errs, check{"FileAvailable--etc-kubernetes-kubelet.conf", kubeletConf + " already exists"})
	}
	if !portFree("tcp", 10250) {
		errs = append(errs, check{"Port-10250", "Port 10250 is in use"})
	}
	if _, err := os.Stat(caCrtPath); err == nil {
		errs = append(errs, check{"FileAvailable--etc-kubernetes-pki-ca.crt", caCrtPath + " already exists"})
	}
	var fatalErrs []check
	for _, c := range errs {
		if p.ignore["all"] || p.ignore[strings.ToLower(c.name)] {
			fmt.Fprintf(os.Stderr, "\t[WARNING %s]: %s\n", c.name, c.msg)
		} else {
			fatalErrs = append(fatalErrs, c)
		}
	}
	if len(fatalErrs) > 0 {
		var b strings.Builder
		b.WriteString("error execution phase preflight: [preflight] Some fatal errors occurred:\n")
		for _, c := range fatalErrs {
			fmt.Fprintf(&b, "\t[ERROR %s]: %s\n", c.name, c.msg)
		}
		b.WriteString("[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`")
		return fatal("%s", b.String())
	}

	// Discovery: cluster-info, fetched anonymously without verifying TLS,
	// then pinned by the CA public key hash.
	insecure, _ := newKubeClient("https://"+p.endpoint, nil, "", true)
	var cm struct {
		Data map[string]string `json:"data"`
	}
	deadline := time.Now().Add(p.discoveryTO)
	for {
		err := insecure.do("GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info", "", nil, &cm)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fatal("error execution phase preflight: couldn't validate the identity of the API Server: failed to request the cluster-info ConfigMap: %v", err)
		}
		fmt.Printf("[discovery] Failed to request cluster-info, will try again: %v\n", err)
		time.Sleep(5 * time.Second)
	}
	ci, err := parseKubeconfig(cm.Data["kubeconfig"])
	if err != nil || len(ci.CAData) == 0 {
		return fatal("error execution phase preflight: couldn't validate the identity of the API Server: couldn't parse the kubeconfig file in the cluster-info ConfigMap: %v", err)
	}
	actual, err := caPublicKeyHash(ci.CAData)
	if err != nil {
		return fatal("error execution phase preflight: couldn't validate the identity of the API Server: couldn't parse the CA in the cluster-info ConfigMap: %v", err)
	}
	if !p.unsafeSkipCA {
		pinned := false
		for _, h := range p.caHashes {
			if strings.EqualFold(h, actual) {
				pinned = true
			}
		}
		if !pinned {
			return fatal("error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys %q are pinned", actual)
		}
	}
	// The endpoint we keep using is the one we were given (as kubeadm does),
	// now with TLS verified against the discovered CA.
	server := "https://" + p.endpoint
	kc, err := newKubeClient(server, ci.CAData, p.token, false)
	if err != nil {
		return fatal("error execution phase preflight: %v", err)
	}
	// Stand-in shortcut: the real kubeadm checks a JWS signature in
	// cluster-info made by the bootstrap signer controller; we authenticate
	// with the token instead (the API server's bootstrap-token authenticator).
	var review struct {
		Status struct {
			UserInfo struct {
				Username string   `json:"username"`
				Groups   []string `json:"groups"`
			} `json:"userInfo"`
		} `json:"status"`
	}
	err = kc.do("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", "", map[string]any{
		"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
	}, &review)
	if err != nil {
		if isStatus(err, 401) {
			return fatal("error execution phase preflight: couldn't validate the identity of the API Server: failed to authenticate with the bootstrap token: token id %q is invalid for this cluster or it has expired. Use \"kubeadm token create\" on the control-plane node to create a new valid token", tokenID(p.token))
		}
		return fatal("error execution phase preflight: couldn't validate the identity of the API Server: %v", err)
	}
	if review.Status.UserInfo.Username != "system:bootstrap:"+tokenID(p.token) {
		return fatal("error execution phase preflight: couldn't validate the identity of the API Server: the token authenticated as %q, not as a bootstrap token", review.Status.UserInfo.Username)
	}
	fmt.Println("[preflight] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...")
	fmt.Println("[preflight] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it.")
	var kcm struct {
		Data map[string]string `json:"data"`
	}
	if err := kc.do("GET", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config", "", nil, &kcm); err != nil {
		fmt.Fprintf(os.Stderr, "W%s  unable to read the kubeadm-config ConfigMap: %v\n", time.Now().Format("0102 15:04:05.000000"), err)
	}

	// Write the kubelet's files.
	if err := os.MkdirAll(pkiDir, 0o755); err != nil {
		return fatal("error execution phase kubelet-start: %v", err)
	}
	if err := os.WriteFile(caCrtPath, ci.CAData, 0o644); err != nil {
		return fatal("error execution phase kubelet-start: %v", err)
	}
	if err := os.MkdirAll(kubeletDir, 0o700); err != nil {
		return fatal("error execution phase kubelet-start: %v", err)
	}
	kubeletCfg := defaultKubeletConfig
	var kubeletCM struct {
		Data map[string]string `json:"data"`
	}
	if err := kc.do("GET", "/api/v1/namespaces/kube-system/configmaps/kubelet-config", "", nil, &kubeletCM); err == nil && kubeletCM.Data["kubelet"] != "" {
		kubeletCfg = kubeletCM.Data["kubelet"]
	}
	fmt.Println("[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/instance-config.yaml\"")
	ip := m.ip()
	flags := fmt.Sprintf("KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --hostname-override=%s --node-ip=%s --pod-infra-container-image=registry.k8s.io/pause:3.10\"\n", p.nodeName, ip)
	fmt.Println("[kubelet-start] Writing kubelet environment file with flags to file \"/var/lib/kubelet/kubeadm-flags.env\"")
	if err := os.WriteFile(kubeletFlagsEnv, []byte(flags), 0o644); err != nil {
		return fatal("error execution phase kubelet-start: %v", err)
	}
	fmt.Println("[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"")
	if err := os.WriteFile(kubeletConfigYAML, []byte(kubeletCfg), 0o644); err != nil {
		return fatal("error execution phase kubelet-start: %v", err)
	}
	if err := os.WriteFile(filepath.Join(kubeletDir, "instance-config.yaml"), []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncontainerRuntimeEndpoint: unix:///var/run/containerd/containerd.sock\n"), 0o644); err != nil {
		return fatal("error execution phase kubelet-start: %v", err)
	}
	// TLS bootstrap, as the kubelet does it with bootstrap-kubelet.conf: a client certificate for
	// system:node:<name>, requested with the bootstrap token and signed by the controller manager.
	// From then on the token is not needed: deleting it leaves the node working.
	fmt.Println("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
	certPEM, keyPEM, err := tlsBootstrap(kc, p.nodeName, p.tlsTO)
	if err != nil {
		return fatal("error execution phase kubelet-start: the TLS bootstrap of node %q failed: %v", p.nodeName, err)
	}
	conf := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: %s
    server: %s
  name: default-cluster
contexts:
- context:
    cluster: default-cluster
    namespace: default
    user: default-auth
  name: default-context
current-context: default-context
preferences: {}
users:
- name: system:node:%s
  user:
    client-certificate-data: %s
    client-key-data: %s
`, base64.StdEncoding.EncodeToString(ci.CAData), server, p.nodeName, base64.StdEncoding.EncodeToString(certPEM), base64.StdEncoding.EncodeToString(keyPEM))
	if err := os.WriteFile(kubeletConf, []byte(conf), 0o600); err != nil {
		return fatal("error execution phase kubelet-start: %v", err)
	}
	fmt.Println("[kubelet-start] Starting the kubelet")
	pid, err := startKubelet(m, p.nodeName, ip)
	if err != nil {
		return fatal("error execution phase kubelet-start: failed to start the kubelet: %v", err)
	}
	fmt.Println("[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s")
	start := time.Now()
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := hc.Get("http://127.0.0.1:10248/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if !processAlive(pid) {
			return fatal("error execution phase kubelet-start: The kubelet is not running (see %s)\n\nUnfortunately, an error has occurred, likely caused by:\n\t- The kubelet is not running\n\t- The kubelet is unhealthy due to a misconfiguration of the node in some way", kubeletLogFile)
		}
		if time.Since(start) > 4*time.Minute {
			return fatal("error execution phase kubelet-start: The kubelet is not healthy after 4m0s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("[kubelet-check] The kubelet is healthy after %v\n", time.Since(start).Round(time.Millisecond))
	fmt.Println("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
	deadline = time.Now().Add(p.tlsTO)
	for {
		if _, err := os.Stat(filepath.Join(kubeletDir, "registered")); err == nil {
			break
		}
		if !processAlive(pid) {
			return fatal("error execution phase kubelet-start: the kubelet exited before registering the Node (see %s)", kubeletLogFile)
		}
		if time.Now().After(deadline) {
			return fatal("error execution phase kubelet-start: timed out waiting for the condition")
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Print(`
This node has joined the cluster:
* Certificate signing request was sent to apiserver and a response was received.
* The Kubelet was informed of the new secure connection details.

Run 'kubectl get nodes' on the control-plane to see this node join the cluster.

`)
	return 0
}

const defaultKubeletConfig = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
cgroupDriver: systemd
clusterDNS:
- 10.213.240.10
clusterDomain: cluster.local
healthzBindAddress: 127.0.0.1
healthzPort: 10248
rotateCertificates: true
staticPodPath: /etc/kubernetes/manifests
`

func portFree(network string, port int) bool {
	if network == "udp" {
		c, err := net.ListenPacket("udp", fmt.Sprintf(":%d", port))
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// field 3 is the state; Z = zombie
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func startKubelet(m machine, nodeName, ip string) (int, error) {
	bin := filepath.Join(m.dir, "bin", "kubelet")
	logf, err := os.OpenFile(kubeletLogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(bin,
		"--kubeconfig="+kubeletConf,
		"--config="+kubeletConfigYAML,
		"--hostname-override="+nodeName,
		"--node-ip="+ip,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "AIOS_WORLD_MACHINE_DIR="+m.dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(kubeletPidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return pid, err
	}
	_ = cmd.Process.Release()
	return pid, nil
}

// ---------------------------------------------------------------- reset

func kubeadmReset(args []string) int {
	fs, err := parseFlags(args, map[string]bool{"force": true, "dry-run": true}, map[string]string{"f": "force"})
	if err != nil {
		return fatal("%v", err)
	}
	if !fs.bools["force"] {
		fmt.Println("W" + time.Now().Format("0102 15:04:05.000000") + " [reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted.")
		fmt.Print("[reset] Are you sure you want to proceed? [y/N]: ")
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return fatal("won't proceed; the user didn't answer (Y|n) in order to continue")
		}
	}
	fmt.Println("[preflight] Running pre-flight checks")
	fmt.Println("[reset] Deleted contents of the etcd data directory: /var/lib/etcd")
	fmt.Println("[reset] Stopping the kubelet service")
	stopKubelet()
	fmt.Println("[reset] Unmounting mounted directories in \"/var/lib/kubelet\"")
	fmt.Println("[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]")
	removeContents(kubeletDir)
	_ = os.RemoveAll(pkiDir)
	_ = os.RemoveAll("/etc/kubernetes/manifests")
	fmt.Println("[reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf]")
	for _, f := range []string{"admin.conf", "super-admin.conf", "kubelet.conf", "bootstrap-kubelet.conf", "controller-manager.conf", "scheduler.conf"} {
		_ = os.Remove(filepath.Join("/etc/kubernetes", f))
	}
	fmt.Print(`
The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d

The reset process does not reset or clean up iptables rules or IPVS tables.
If you wish to reset iptables, you must do so manually by using the "iptables" command.

If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)
to reset your system's IPVS tables.

The reset process does not clean your kubeconfig files and you must remove them manually.
Please, check the contents of the $HOME/.kube/config file.
`)
	return 0
}

func stopKubelet() {
	pidS, ok := readTrim(kubeletPidFile)
	if !ok {
		return
	}
	pid, err := strconv.Atoi(pidS)
	if err != nil || !processAlive(pid) || !isKubelet(pid) {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100 && processAlive(pid); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if processAlive(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		for i := 0; i < 40 && processAlive(pid); i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func isKubelet(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	argv0 := strings.SplitN(string(b), "\x00", 2)[0]
	return filepath.Base(argv0) == "kubelet"
}

func removeContents(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}
