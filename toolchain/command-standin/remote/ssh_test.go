package remote

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"aios-onboarding/command-standin/internal/output"
	"aios-onboarding/command-standin/internal/sshtest"
)

// fixture: a test SSH server with an ed25519 host key, and a connection that logs in to it.
func fixture(t *testing.T, hostKeys ...func(testing.TB) (ssh.Signer, string)) (*sshtest.Server, Connection) {
	t.Helper()
	client, clientPEM := sshtest.Ed25519Signer(t)
	var keys []ssh.Signer
	for _, mk := range hostKeys {
		k, _ := mk(t)
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		k, _ := sshtest.Ed25519Signer(t)
		keys = append(keys, k)
	}
	srv := sshtest.Start(t, client.PublicKey(), keys...)
	port := float64(srv.Port)
	zero := 0
	return srv, Connection{Host: &srv.Host, Port: &port, User: ptr("tester"), PrivateKey: &clientPEM,
		DialErrorLimit: &zero}
}

func ptr[T any](v T) *T { return &v }

func run(t *testing.T, conn Connection, command string, opts RunOptions) (string, string, error) {
	t.Helper()
	t.Setenv("SSH_AUTH_SOCK", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return Run(ctx, conn, command, opts)
}

func TestPinnedHostKeyAccepted(t *testing.T) {
	srv, conn := fixture(t)
	conn.HostKey = ptr(sshtest.AuthorizedKey(srv.HostKeys[0]) + " comment@host")
	stdout, _, err := run(t, conn, "echo pinned", RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "pinned" {
		t.Fatalf("stdout %q", stdout)
	}
}

func TestWrongHostKeyRefused(t *testing.T) {
	srv, conn := fixture(t)
	other, _ := sshtest.Ed25519Signer(t)
	conn.HostKey = ptr(sshtest.AuthorizedKey(other))
	_, _, err := run(t, conn, "echo never", RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "host key mismatch") {
		t.Fatalf("want a host key mismatch, got %v", err)
	}
	if len(srv.Commands()) != 0 {
		t.Fatalf("a command ran despite the wrong host key: %v", srv.Commands())
	}
}

func TestWrongHostKeyRetriedUpToDialErrorLimit(t *testing.T) {
	_, conn := fixture(t)
	other, _ := sshtest.Ed25519Signer(t)
	conn.HostKey = ptr(sshtest.AuthorizedKey(other))
	conn.DialErrorLimit = ptr(2)
	_, _, err := run(t, conn, "true", RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "(3 attempts)") {
		t.Fatalf("dialErrorLimit 2 should give up after the third failed dial, got %v", err)
	}
}

func TestNoHostKeyAcceptsAnyKey(t *testing.T) {
	_, conn := fixture(t)
	if _, _, err := run(t, conn, "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

// The server offers ed25519 and RSA host keys; pinning the RSA one must restrict the negotiation to RSA
// (through rsa-sha2-*), otherwise the client would get the ed25519 key and refuse it.
func TestPinnedRSAKeyRestrictsAlgorithms(t *testing.T) {
	srv, conn := fixture(t, sshtest.Ed25519Signer, sshtest.RSASigner)
	conn.HostKey = ptr(sshtest.AuthorizedKey(srv.HostKeys[1]))
	if _, _, err := run(t, conn, "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	conn.HostKey = ptr(sshtest.AuthorizedKey(srv.HostKeys[0]))
	if _, _, err := run(t, conn, "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidHostKey(t *testing.T) {
	_, conn := fixture(t)
	conn.HostKey = ptr("")
	_, _, err := run(t, conn, "true", RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "connection.hostKey") {
		t.Fatalf("an empty hostKey must be an error, got %v", err)
	}
}

func TestStdinDelivered(t *testing.T) {
	_, conn := fixture(t)
	stdout, _, err := run(t, conn, "tr a-z A-Z", RunOptions{Stdin: "secret join command\n"})
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "SECRET JOIN COMMAND" {
		t.Fatalf("stdout %q", stdout)
	}
}

func TestExitStatusIsFormattedError(t *testing.T) {
	_, conn := fixture(t)
	command := "echo out; sleep 0.2; echo err >&2; exit 3"
	stdout, stderr, err := run(t, conn, command, RunOptions{})
	if err == nil {
		t.Fatal("want an error")
	}
	want := "Process exited with status 3: running \"echo out; sleep 0.2; echo err >&2; exit 3\":\nout\nerr\n"
	if err.Error() != want {
		t.Fatalf("error\n%q\nwant\n%q", err.Error(), want)
	}
	if stdout != "" || stderr != "" {
		t.Fatalf("a failed run returns no outputs, got %q %q", stdout, stderr)
	}
}

func TestOutputsAndLogging(t *testing.T) {
	_, conn := fixture(t)
	for _, tc := range []struct {
		logging string
		want    []string
	}{
		{"", []string{"o1", "o2", "e1"}},
		{"stdoutAndStderr", []string{"o1", "o2", "e1"}},
		{"stdout", []string{"o1", "o2"}},
		{"stderr", []string{"e1"}},
		{"none", nil},
	} {
		var mu sync.Mutex
		var lines []string
		stdout, stderr, err := run(t, conn, "printf 'o1\\no2\\n'; echo e1 >&2", RunOptions{
			Logging: output.Logging(tc.logging),
			LogLine: func(l string) { mu.Lock(); lines = append(lines, l); mu.Unlock() },
		})
		if err != nil {
			t.Fatal(err)
		}
		if stdout != "o1\no2" || stderr != "e1" {
			t.Fatalf("outputs %q %q", stdout, stderr)
		}
		if !sameSet(lines, tc.want) {
			t.Fatalf("logging %q: logged %q, want %q", tc.logging, lines, tc.want)
		}
	}
}

func TestEnvironment(t *testing.T) {
	srv, conn := fixture(t)
	srv.AcceptEnv["GREETING"] = true
	stdout, _, err := run(t, conn, "echo $GREETING", RunOptions{Environment: map[string]string{"GREETING": "hi"}})
	if err != nil || stdout != "hi" {
		t.Fatalf("accepted Setenv: %q %v", stdout, err)
	}
	_, _, err = run(t, conn, "true", RunOptions{Environment: map[string]string{"REFUSED": "x"}})
	if err == nil || !strings.Contains(err.Error(), "REFUSED") {
		t.Fatalf("a refused Setenv must be an error, got %v", err)
	}
	// The previous outputs are only a warning when refused, and reach the command when accepted.
	var warnings []string
	_, _, err = run(t, conn, "true", RunOptions{PreviousStdout: "old", Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil || len(warnings) != 1 {
		t.Fatalf("refused PULUMI_COMMAND_STDOUT: err %v, warnings %q", err, warnings)
	}
	srv.AcceptEnv["PULUMI_COMMAND_STDOUT"] = true
	stdout, _, err = run(t, conn, "echo $PULUMI_COMMAND_STDOUT", RunOptions{PreviousStdout: "old"})
	if err != nil || stdout != "old" {
		t.Fatalf("accepted PULUMI_COMMAND_STDOUT: %q %v", stdout, err)
	}
}

func TestDialFailsFastWhenNothingListens(t *testing.T) {
	_, conn := fixture(t)
	conn.Port = ptr(float64(1))
	start := time.Now()
	_, _, err := run(t, conn, "true", RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "(1 attempts)") {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("dialErrorLimit 0 took %v", time.Since(start))
	}
}

func TestProxyRejected(t *testing.T) {
	_, conn := fixture(t)
	conn.Proxy = &ProxyConnection{Host: ptr("bastion")}
	_, _, err := run(t, conn, "true", RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "not supported by this stand-in") {
		t.Fatalf("got %v", err)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}
