package provider

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"aios-onboarding/command-standin/internal/sshtest"
)

const (
	localType  = "command:local:Command"
	remoteType = "command:remote:Command"
)

func server(t *testing.T) integration.Server {
	t.Helper()
	prov, err := New()
	if err != nil {
		t.Fatal(err)
	}
	s, err := integration.NewServer(t.Context(), Name, semver.MustParse("1.2.1"), integration.WithProvider(prov))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func urn(typ, name string) resource.URN {
	return resource.NewURN("dev", "standin-test", "", tokens.Type(typ), name)
}

func str(s string) property.Value { return property.New(s) }

func strs(ss ...string) property.Value {
	vs := make([]property.Value, len(ss))
	for i, s := range ss {
		vs[i] = property.New(s)
	}
	return property.New(vs)
}

func inputs(kv map[string]property.Value) property.Map { return property.NewMap(kv) }

// check runs Check and fails the test on failures.
func check(t *testing.T, s integration.Server, typ string, news property.Map) property.Map {
	t.Helper()
	resp, err := s.Check(p.CheckRequest{Urn: urn(typ, "c"), Inputs: news})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Failures) > 0 {
		t.Fatalf("check failures: %+v", resp.Failures)
	}
	return resp.Inputs
}

func diff(t *testing.T, s integration.Server, typ string, olds, state, news property.Map) p.DiffResponse {
	t.Helper()
	resp, err := s.Diff(p.DiffRequest{ID: "c-1", Urn: urn(typ, "c"), State: state, OldInputs: olds, Inputs: news})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestLocalDiff(t *testing.T) {
	s := server(t)
	base := map[string]property.Value{
		"create":   str("echo create"),
		"update":   str("echo update"),
		"delete":   str("echo delete"),
		"triggers": strs("a", "b"),
		"logging":  str("stderr"),
		"stdin":    str("in"),
	}
	olds := check(t, s, localType, inputs(base))
	if olds.Len() != len(base) {
		t.Fatalf("Check must not add defaults to the inputs: %v", olds)
	}
	state := olds.Set("stdout", str("create")).Set("stderr", str(""))

	if d := diff(t, s, localType, olds, state, check(t, s, localType, inputs(base))); d.HasChanges || len(d.DetailedDiff) > 0 {
		t.Fatalf("same inputs must give no diff: %+v", d)
	}

	changed := func(k string, v property.Value) property.Map {
		m := inputs(base)
		return check(t, s, localType, m.Set(k, v))
	}
	for _, k := range []string{"create", "update", "delete", "stdin", "logging"} {
		d := diff(t, s, localType, olds, state, changed(k, str("stdout")))
		if !d.HasChanges || d.DetailedDiff[k].Kind != p.Update || len(d.DetailedDiff) != 1 {
			t.Fatalf("a changed %s must be an update: %+v", k, d)
		}
	}
	d := diff(t, s, localType, olds, state, changed("triggers", strs("a", "c")))
	if !d.HasChanges || d.DetailedDiff["triggers[1]"].Kind != p.UpdateReplace {
		t.Fatalf("a changed trigger must be a replace: %+v", d)
	}
	d = diff(t, s, localType, olds, state, check(t, s, localType, inputs(base).Delete("triggers")))
	if !d.HasChanges || d.DetailedDiff["triggers"].Kind != p.DeleteReplace {
		t.Fatalf("removed triggers must be a replace: %+v", d)
	}
	noTriggers := check(t, s, localType, inputs(base).Delete("triggers"))
	d = diff(t, s, localType, noTriggers, noTriggers.Set("stdout", str("")), olds)
	if !d.HasChanges || d.DetailedDiff["triggers"].Kind != p.AddReplace {
		t.Fatalf("added triggers must be a replace: %+v", d)
	}
	d = diff(t, s, localType, olds, state, changed("environment", property.New(map[string]property.Value{"A": str("1")})))
	if !d.HasChanges || d.DetailedDiff["environment"].Kind != p.Add {
		t.Fatalf("an added environment must be an update: %+v", d)
	}
	d = diff(t, s, localType, olds, state, check(t, s, localType, inputs(base).Delete("update")))
	if !d.HasChanges || d.DetailedDiff["update"].Kind != p.Delete {
		t.Fatalf("a removed update must be an update: %+v", d)
	}
}

func TestRemoteCheckAndDiff(t *testing.T) {
	s := server(t)
	conn := func(host string) property.Value {
		return property.New(map[string]property.Value{"host": str(host), "privateKey": str("KEY")})
	}
	base := map[string]property.Value{"connection": conn("10.0.0.1"), "create": str("true"), "triggers": strs("x")}
	olds := check(t, s, remoteType, inputs(base))
	c := olds.Get("connection")
	if !c.Secret() {
		t.Fatalf("connection must be secret after Check: %v", c)
	}
	m := c.WithSecret(false).AsMap()
	if m.Get("port").AsNumber() != 22 || m.Get("user").AsString() != "root" ||
		m.Get("dialErrorLimit").AsNumber() != 10 || m.Get("perDialTimeout").AsNumber() != 15 {
		t.Fatalf("connection defaults: %v", m)
	}
	state := olds.Set("stdout", str("")).Set("stderr", str(""))
	if d := diff(t, s, remoteType, olds, state, check(t, s, remoteType, inputs(base))); d.HasChanges {
		t.Fatalf("same inputs must give no diff: %+v", d)
	}
	next := inputs(base).Set("connection", conn("10.0.0.2"))
	d := diff(t, s, remoteType, olds, state, check(t, s, remoteType, next))
	if !d.HasChanges || d.DetailedDiff["connection"].Kind != p.Update || len(d.DetailedDiff) != 1 {
		t.Fatalf("a changed connection must be an update, not a replace: %+v", d)
	}

	for _, bad := range []property.Map{
		inputs(base).Set("logging", str("everything")),
		inputs(base).Set("connection", property.New(map[string]property.Value{
			"host": str("h"), "proxy": property.New(map[string]property.Value{"host": str("bastion")}),
		})),
	} {
		resp, err := s.Check(p.CheckRequest{Urn: urn(remoteType, "c"), Inputs: bad})
		if err != nil || len(resp.Failures) != 1 {
			t.Fatalf("want one check failure, got %+v %v", resp.Failures, err)
		}
	}
}

func TestLocalLifecycle(t *testing.T) {
	s := server(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	in := check(t, s, localType, inputs(map[string]property.Value{
		"create":      str("printf 'created\\n\\n'; echo create >> log"),
		"delete":      str("echo \"delete after $PULUMI_COMMAND_STDOUT\" >> log"),
		"dir":         str(dir),
		"environment": property.New(map[string]property.Value{"WHO": str("env")}),
		"stdin":       str("piped"),
	}))

	preview, err := s.Create(p.CreateRequest{Urn: urn(localType, "c"), Properties: in, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(log); err == nil {
		t.Fatal("a preview must not run the command")
	}
	if !preview.Properties.Get("stdout").IsComputed() {
		t.Fatalf("stdout is unknown during a preview: %v", preview.Properties.Get("stdout"))
	}

	created, err := s.Create(p.CreateRequest{Urn: urn(localType, "c"), Properties: in})
	if err != nil {
		t.Fatal(err)
	}
	if got := created.Properties.Get("stdout").AsString(); got != "created\n" {
		t.Fatalf("stdout %q (one trailing newline trimmed)", got)
	}
	if !strings.HasPrefix(created.ID, "c") || len(created.ID) != 9 {
		t.Fatalf("id %q", created.ID)
	}

	// Update without `update` runs `create` again, with the previous stdout in the environment and stdin.
	news := check(t, s, localType, in.Set("create", str("echo \"$WHO $PULUMI_COMMAND_STDOUT\" $(cat)")))
	updated, err := s.Update(p.UpdateRequest{ID: created.ID, Urn: urn(localType, "c"), State: created.Properties, OldInputs: in, Inputs: news})
	if err != nil {
		t.Fatal(err)
	}
	if got := updated.Properties.Get("stdout").AsString(); got != "env created\n piped" {
		t.Fatalf("update stdout %q", got)
	}

	// Delete runs `delete` from the state.
	if err := s.Delete(p.DeleteRequest{ID: created.ID, Urn: urn(localType, "c"), Properties: updated.Properties}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(log)
	if string(b) != "create\ndelete after env created\n piped\n" {
		t.Fatalf("log %q", b)
	}
}

func TestLocalFailureAndInterpreter(t *testing.T) {
	s := server(t)
	in := check(t, s, localType, inputs(map[string]property.Value{"create": str("echo out; sleep 0.2; echo err >&2; exit 3")}))
	_, err := s.Create(p.CreateRequest{Urn: urn(localType, "c"), Properties: in})
	want := "exit status 3: running \"echo out; sleep 0.2; echo err >&2; exit 3\":\nout\nerr\n"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want it to contain %q", err, want)
	}

	in = check(t, s, localType, inputs(map[string]property.Value{
		"create": str("print('py' if False else 'interpreted')"), "interpreter": strs("/usr/bin/env", "python3", "-c"),
	}))
	created, err := s.Create(p.CreateRequest{Urn: urn(localType, "c"), Properties: in})
	if err != nil {
		t.Skipf("no python3 here: %v", err)
	}
	if got := created.Properties.Get("stdout").AsString(); got != "interpreted" {
		t.Fatalf("stdout %q", got)
	}
}

// A create timeout (customTimeouts) kills the command and what it started.
func TestLocalTimeoutKillsProcessGroup(t *testing.T) {
	s := server(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	in := check(t, s, localType, inputs(map[string]property.Value{
		"create": str("sleep 60 & echo $! > " + pidFile + "; wait"),
	}))
	start := time.Now()
	_, err := s.Create(p.CreateRequest{Urn: urn(localType, "c"), Properties: in, Timeout: 1})
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("want a deadline error, got %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	time.Sleep(100 * time.Millisecond)
	if alive(pid) {
		t.Fatalf("the background sleep (pid %d) survived the timeout", pid)
	}
}

func TestRemoteLifecycle(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	s := server(t)
	client, clientPEM := sshtest.Ed25519Signer(t)
	hostKey, _ := sshtest.Ed25519Signer(t)
	srv := sshtest.Start(t, client.PublicKey(), hostKey)
	in := check(t, s, remoteType, inputs(map[string]property.Value{
		"connection": property.New(map[string]property.Value{
			"host": str(srv.Host), "port": property.New(float64(srv.Port)), "privateKey": str(clientPEM),
			"hostKey": str(sshtest.AuthorizedKey(hostKey)),
		}),
		"create": str("cat"),
		"delete": str("echo bye"),
		"stdin":  str("from stdin\n"),
	}))
	created, err := s.Create(p.CreateRequest{Urn: urn(remoteType, "c"), Properties: in})
	if err != nil {
		t.Fatal(err)
	}
	if got := created.Properties.Get("stdout").AsString(); got != "from stdin" {
		t.Fatalf("stdout %q", got)
	}
	if !created.Properties.Get("connection").Secret() {
		t.Fatal("connection must stay secret in the state")
	}
	if err := s.Delete(p.DeleteRequest{ID: created.ID, Urn: urn(remoteType, "c"), Properties: created.Properties}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Commands(); len(got) != 2 || got[1] != "echo bye" {
		t.Fatalf("commands run: %q", got)
	}
}

// alive: the process exists and is not a zombie (an orphan stays a zombie until PID 1 reaps it).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) == 0 || fields[0] != "Z"
}
