// Package sshtest runs an in-process SSH server for the tests: public-key authentication, "env" requests
// accepted only for listed names (like sshd's AcceptEnv), and "exec" requests run with /bin/sh -c.
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Server is a running test server.
type Server struct {
	Addr      string          // 127.0.0.1:port
	Host      string          // 127.0.0.1
	Port      int             //
	HostKeys  []ssh.Signer    // the keys the server presents
	AcceptEnv map[string]bool // names a client may set

	mu       sync.Mutex
	commands []string
}

// Ed25519Signer makes a fresh ed25519 key and returns its signer and its OpenSSH-format private key.
func Ed25519Signer(t testing.TB) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signerAndPEM(t, priv)
}

// RSASigner makes a fresh 2048-bit RSA key.
func RSASigner(t testing.TB) (ssh.Signer, string) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signerAndPEM(t, priv)
}

func signerAndPEM(t testing.TB, priv any) (ssh.Signer, string) {
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return signer, string(pem.EncodeToMemory(block))
}

// AuthorizedKey is the authorized_keys line of a signer's public key (without a trailing newline).
func AuthorizedKey(s ssh.Signer) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
}

// Start listens on 127.0.0.1 and serves until the test ends. Only clientKey may log in (any user name).
func Start(t testing.TB, clientKey ssh.PublicKey, hostKeys ...ssh.Signer) *Server {
	t.Helper()
	config := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(clientKey.Marshal()) {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("unknown public key")
		},
	}
	for _, k := range hostKeys {
		config.AddHostKey(k)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	tcp := l.Addr().(*net.TCPAddr)
	s := &Server{Addr: tcp.String(), Host: "127.0.0.1", Port: tcp.Port, HostKeys: hostKeys, AcceptEnv: map[string]bool{}}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(conn, config)
		}
	}()
	return s
}

// Commands returns the commands run so far.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

func (s *Server) serve(conn net.Conn, config *ssh.ServerConfig) {
	defer func() { _ = conn.Close() }()
	_, chans, reqs, err := ssh.NewServerConn(conn, config)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for newChannel := range chans {
		if newChannel.ChannelType() != "session" {
			_ = newChannel.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		channel, requests, err := newChannel.Accept()
		if err != nil {
			return
		}
		go s.session(channel, requests)
	}
}

func (s *Server) session(channel ssh.Channel, requests <-chan *ssh.Request) {
	defer func() { _ = channel.Close() }()
	env := []string{"PATH=/usr/bin:/bin"}
	for req := range requests {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(req.Payload, &kv) != nil || !s.AcceptEnv[kv.Name] {
				_ = req.Reply(false, nil)
				continue
			}
			env = append(env, kv.Name+"="+kv.Value)
			_ = req.Reply(true, nil)
		case "exec":
			var payload struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
				_ = req.Reply(false, nil)
				return
			}
			_ = req.Reply(true, nil)
			s.mu.Lock()
			s.commands = append(s.commands, payload.Command)
			s.mu.Unlock()
			status := run(channel, payload.Command, env)
			_, _ = channel.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
			return
		default:
			_ = req.Reply(false, nil) // no pty, shell or subsystem
		}
	}
}

func run(channel ssh.Channel, command string, env []string) uint32 {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 255
	}
	cmd.Stdout = channel
	cmd.Stderr = channel.Stderr()
	if err := cmd.Start(); err != nil {
		_, _ = fmt.Fprintln(channel.Stderr(), err)
		return 127
	}
	go func() {
		_, _ = io.Copy(stdin, channel)
		_ = stdin.Close()
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return uint32(exit.ExitCode()) //nolint:gosec // exit codes are 0..255
	}
	if err != nil {
		return 255
	}
	return 0
}
