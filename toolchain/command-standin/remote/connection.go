package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/pulumi/pulumi-go-provider/infer"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Connection says how to reach the remote host, with the names and defaults of the 1.2.1 SDK's ConnectionArgs.
type Connection struct {
	Host               *string          `pulumi:"host"`
	Port               *float64         `pulumi:"port,optional"`
	User               *string          `pulumi:"user,optional"`
	Password           *string          `pulumi:"password,optional" provider:"secret"`
	PrivateKey         *string          `pulumi:"privateKey,optional" provider:"secret"`
	PrivateKeyPassword *string          `pulumi:"privateKeyPassword,optional" provider:"secret"`
	AgentSocketPath    *string          `pulumi:"agentSocketPath,optional"`
	DialErrorLimit     *int             `pulumi:"dialErrorLimit,optional"`
	PerDialTimeout     *int             `pulumi:"perDialTimeout,optional"`
	HostKey            *string          `pulumi:"hostKey,optional"`
	Proxy              *ProxyConnection `pulumi:"proxy,optional"`
}

// ProxyConnection is accepted by the schema (the SDK may send it) but rejected by Check: this stand-in does
// not dial through a bastion.
type ProxyConnection struct {
	Host               *string  `pulumi:"host"`
	Port               *float64 `pulumi:"port,optional"`
	User               *string  `pulumi:"user,optional"`
	Password           *string  `pulumi:"password,optional" provider:"secret"`
	PrivateKey         *string  `pulumi:"privateKey,optional" provider:"secret"`
	PrivateKeyPassword *string  `pulumi:"privateKeyPassword,optional" provider:"secret"`
	AgentSocketPath    *string  `pulumi:"agentSocketPath,optional"`
	DialErrorLimit     *int     `pulumi:"dialErrorLimit,optional"`
	PerDialTimeout     *int     `pulumi:"perDialTimeout,optional"`
	HostKey            *string  `pulumi:"hostKey,optional"`
}

const (
	defaultPort           = 22
	defaultUser           = "root"
	defaultDialErrorLimit = 10
	defaultPerDialTimeout = 15 // seconds
)

// Annotate describes the connection and sets the same defaults as the SDK's connectionArgsProvideDefaults.
func (c *Connection) Annotate(a infer.Annotator) {
	a.Describe(&c, "How to reach the remote host over SSH.")
	a.Describe(&c.Host, "The address of the host.")
	a.Describe(&c.Port, "The SSH port.")
	a.SetDefault(&c.Port, defaultPort)
	a.Describe(&c.User, "The user to log in as.")
	a.SetDefault(&c.User, defaultUser)
	a.Describe(&c.Password, "Password, for password and keyboard-interactive authentication.")
	a.Describe(&c.PrivateKey, "An SSH private key (PEM or OpenSSH format).")
	a.Describe(&c.PrivateKeyPassword, "The passphrase of an encrypted private key.")
	a.Describe(&c.AgentSocketPath, "SSH agent socket; default $SSH_AUTH_SOCK when set.")
	a.Describe(&c.DialErrorLimit, "Failed dials tolerated before giving up; -1 means no limit.")
	a.SetDefault(&c.DialErrorLimit, defaultDialErrorLimit)
	a.Describe(&c.PerDialTimeout, "Seconds allowed for one dial (TCP connect and SSH handshake); 0 means no limit.")
	a.SetDefault(&c.PerDialTimeout, defaultPerDialTimeout)
	a.Describe(&c.HostKey, "The host's public key in authorized_keys format. When set, only this key is "+
		"accepted; when unset, any host key is.")
	a.Describe(&c.Proxy, "A bastion host. Not supported by this stand-in.")
}

// Annotate describes the (unsupported) proxy connection.
func (c *ProxyConnection) Annotate(a infer.Annotator) {
	a.Describe(&c, "A bastion host to dial through. Not supported by this stand-in.")
}

// ClientConfig builds the SSH client configuration: user, authentication methods (private key, then
// password and keyboard-interactive, then the agent) and host key checking.
func (c *Connection) ClientConfig() (*ssh.ClientConfig, error) {
	if c.Proxy != nil {
		return nil, errProxy
	}
	config := &ssh.ClientConfig{User: defaultUser}
	if c.User != nil {
		config.User = *c.User
	}
	if c.HostKey != nil {
		callback, algorithms, err := PinnedHostKey(*c.HostKey)
		if err != nil {
			return nil, err
		}
		config.HostKeyCallback, config.HostKeyAlgorithms = callback, algorithms
	} else {
		config.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // what the real provider does without hostKey
	}
	if c.PrivateKey != nil {
		var signer ssh.Signer
		var err error
		if c.PrivateKeyPassword != nil {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(*c.PrivateKey), []byte(*c.PrivateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(*c.PrivateKey))
		}
		if err != nil {
			return nil, fmt.Errorf("connection.privateKey: %w", err)
		}
		config.Auth = append(config.Auth, ssh.PublicKeys(signer))
	}
	if c.Password != nil {
		password := *c.Password
		config.Auth = append(config.Auth, ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	socket := os.Getenv("SSH_AUTH_SOCK")
	if c.AgentSocketPath != nil {
		socket = *c.AgentSocketPath
	}
	if socket != "" {
		conn, err := net.Dial("unix", socket)
		if err != nil {
			return nil, fmt.Errorf("SSH agent socket %s: %w", socket, err)
		}
		config.Auth = append(config.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	return config, nil
}

var errProxy = errors.New("connection.proxy is not supported by this stand-in of pulumi-resource-command " +
	"(see docs/toolchain.md); connect to the host directly")

// PinnedHostKey parses an authorized_keys line and returns a callback that accepts only that key, and the
// host key algorithms restricted to the key's type (for an RSA key: its SHA-2 signature algorithms too, since
// current OpenSSH servers no longer offer ssh-rsa with SHA-1).
func PinnedHostKey(authorizedKey string) (ssh.HostKeyCallback, []string, error) {
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorizedKey))
	if err != nil {
		return nil, nil, fmt.Errorf("connection.hostKey is not a public key in authorized_keys format: %w", err)
	}
	algorithms := []string{key.Type()}
	if key.Type() == ssh.KeyAlgoRSA {
		algorithms = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return ssh.FixedHostKey(key), algorithms, nil
}

// Dial connects and authenticates, retrying failed dials like the real provider: with dialErrorLimit N
// (default 10) it gives up when dial number N+1 fails; -1 retries until the context ends. Each dial (TCP
// connect and SSH handshake) gets perDialTimeout seconds (default 15; 0 = no limit).
func (c *Connection) Dial(ctx context.Context, config *ssh.ClientConfig) (*ssh.Client, error) {
	if c.Host == nil {
		return nil, errors.New("connection.host is required")
	}
	port := defaultPort
	if c.Port != nil {
		port = int(*c.Port)
	}
	limit := defaultDialErrorLimit
	if c.DialErrorLimit != nil {
		limit = *c.DialErrorLimit
	}
	perDial := defaultPerDialTimeout * time.Second
	if c.PerDialTimeout != nil {
		perDial = time.Duration(*c.PerDialTimeout) * time.Second
	}
	addr := net.JoinHostPort(*c.Host, strconv.Itoa(port))
	delay := 100 * time.Millisecond
	for dials := 1; ; dials++ {
		client, err := dialOnce(ctx, addr, config, perDial)
		if err == nil {
			return client, nil
		}
		if ctx.Err() != nil || (limit >= 0 && dials > limit) {
			return nil, fmt.Errorf("dialing %s@%s (%d attempts): %w", config.User, addr, dials, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dialing %s@%s (%d attempts): %w (%w)", config.User, addr, dials, err, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*3/2, 5*time.Second)
	}
}

func dialOnce(ctx context.Context, addr string, config *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	dialCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		dialCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	conn, err := (&net.Dialer{}).DialContext(dialCtx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// The handshake has no context parameter: a deadline and closing on cancellation bound it.
	if deadline, ok := dialCtx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(dialCtx, func() { _ = conn.Close() })
	sshConn, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	if !stop() {
		if err == nil {
			_ = sshConn.Close()
		}
		if err == nil || dialCtx.Err() != nil {
			return nil, fmt.Errorf("ssh handshake: %w", dialCtx.Err())
		}
	}
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(sshConn, chans, reqs), nil
}
