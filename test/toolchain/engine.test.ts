// The real Pulumi engine built by scripts/toolchain.sh, driven through the Automation API with a file://
// backend and no network: up, preview --expect-no-changes, destroy; and the @pulumi/command resources through
// whichever pulumi-resource-command 1.2.1 the script provided (here: our stand-in, toolchain/command-standin).
import { strict as assert } from "node:assert";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

import { type EngineEvent, LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";

const repoRoot = path.resolve(__dirname, "..", "..");
const fixtures = path.join(__dirname, "fixtures");

// The versions package.json's npm SDKs ask the engine for.
const pulumiVersion = "3.259.0";
const commandPluginVersion = "1.2.1";
const kubernetesPluginVersion = "4.24.1";

/** The toolchain bin folder: $AIOS_TOOLS_BIN, else the last line printed by scripts/toolchain.sh. */
function toolsBin(): string {
  const fromEnv = process.env.AIOS_TOOLS_BIN;
  if (fromEnv) {
    return fromEnv;
  }
  const out = execFileSync("bash", [path.join(repoRoot, "scripts", "toolchain.sh"), "pulumi", "command", "k8s-provider"], {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = out.trim().split("\n");
  return lines[lines.length - 1];
}

describe("toolchain: the Pulumi engine runs offline", function () {
  let bin: string;
  let tmp: string;
  let envVars: Record<string, string>;
  let pulumiCommand: PulumiCommand;

  before(async function () {
    // A cold toolchain builds the CLI from Go modules: that takes many minutes on 2 cores.
    this.timeout(60 * 60 * 1000);
    bin = toolsBin();
    assert.ok(fs.existsSync(path.join(bin, "pulumi")), `no pulumi in the toolchain bin folder ${bin}`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aios-toolchain-"));
    fs.mkdirSync(path.join(tmp, "state"));
    // Only the CLI on PATH, as scripts/pulumi-env.sh sets it: the engine takes the language host from beside
    // the CLI and the provider plugins from PULUMI_HOME, with no "using … from $PATH" warning.
    const cli = path.join(tmp, "cli", "bin");
    fs.mkdirSync(cli, { recursive: true });
    fs.symlinkSync(fs.realpathSync(path.join(bin, "pulumi")), path.join(cli, "pulumi"));
    envVars = {
      PATH: [cli, path.join(repoRoot, "node_modules", ".bin"), process.env.PATH ?? ""].join(path.delimiter),
      PULUMI_HOME: path.join(tmp, "home"),
      PULUMI_BACKEND_URL: `file://${path.join(tmp, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "toolchain-test-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      // The fixtures are type-checked by `npm run typecheck`; ts-node only has to strip types.
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    };
    // PulumiCommand.get runs <root>/bin/pulumi and checks that its version is parseable and new enough.
    // It also puts <root>/bin first on the engine's PATH: the folder with only the CLI in it.
    pulumiCommand = await PulumiCommand.get({ root: path.dirname(cli) });
  });

  after(function () {
    if (tmp) {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it(`is the stamped pulumi v${pulumiVersion}`, function () {
    assert.equal(pulumiCommand.version?.toString(), pulumiVersion);
  });

  /** A "dev" stack of a copy of the fixture program (the workspace writes Pulumi.dev.yaml next to Pulumi.yaml). */
  async function fixtureStack(fixture: string): Promise<Stack> {
    const workDir = path.join(tmp, fixture);
    fs.cpSync(path.join(fixtures, fixture), workDir, { recursive: true });
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(workDir, "node_modules"), "dir");
    return LocalWorkspace.createOrSelectStack({ stackName: "dev", workDir }, { pulumiCommand, envVars });
  }

  /**
   * up, preview --expect-no-changes and destroy of a fixture program; returns the outputs of `up`. The program
   * runs from a copy in the temp folder (the workspace writes Pulumi.<stack>.yaml next to Pulumi.yaml), with the
   * repository's node_modules linked in.
   */
  async function upPreviewDestroy(fixture: string): Promise<Record<string, unknown>> {
    const stack = await fixtureStack(fixture);
    try {
      const up = await stack.up();
      assert.equal(up.summary.result, "succeeded");
      const outputs = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value as unknown]));

      const preview = await stack.preview({ expectNoChanges: true });
      assert.deepEqual(
        Object.keys(preview.changeSummary).filter((op) => op !== "same"),
        [],
        `preview after up wants changes: ${JSON.stringify(preview.changeSummary)}`,
      );

      const destroy = await stack.destroy();
      assert.equal(destroy.summary.result, "succeeded");
      return outputs;
    } finally {
      await stack.workspace.removeStack("dev", { force: true });
    }
  }

  /** Everything the file backend stored, as one string. */
  function stateFiles(): string {
    const root = path.join(tmp, "state");
    return (fs.readdirSync(root, { recursive: true, encoding: "utf8" }) as string[])
      .map((f) => path.join(root, f))
      .filter((f) => fs.statSync(f).isFile())
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
  }

  /** Installs pulumi-resource-command under the exact version @pulumi/command asks for, from the file: no download. */
  function installCommandPlugin(): void {
    const plugin = path.join(bin, "pulumi-resource-command");
    assert.ok(
      fs.existsSync(plugin),
      `${plugin} is missing: scripts/toolchain.sh could not provide pulumi-resource-command ${commandPluginVersion}` +
        " (see its warning and docs/toolchain.md)",
    );
    execFileSync(
      path.join(bin, "pulumi"),
      ["plugin", "install", "resource", "command", commandPluginVersion, "--file", fs.realpathSync(plugin)],
      { env: { ...process.env, ...envVars }, stdio: ["ignore", "ignore", "inherit"] },
    );
  }

  it("creates a @pulumi/command local.Command, previews no changes, destroys it", async function () {
    this.timeout(5 * 60 * 1000);
    installCommandPlugin();
    const outputs = await upPreviewDestroy("localcommand");
    assert.equal(outputs.stdout, "hello");
  });

  describe("@pulumi/command through pulumi-resource-command 1.2.1", function () {
    before(installCommandPlugin);

    it("local.Command: update runs `update`, a trigger change replaces (deleteBeforeReplace decides the order), a failed create is not kept", async function () {
      this.timeout(10 * 60 * 1000);
      const stack = await fixtureStack("lifecycle");
      const logFile = path.join(tmp, "lifecycle.log");
      const runs = (): string[] => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").trim().split("\n") : []);
      const only = (name: string): string[] => runs().filter((l) => l.startsWith(`${name} `));
      const up = async (): Promise<{ outputs: Record<string, unknown>; changes: Record<string, number>; events: EngineEvent[] }> => {
        const events: EngineEvent[] = [];
        const result = await stack.up({ color: "never", onEvent: (e) => events.push(e) });
        assert.equal(result.summary.result, "succeeded");
        const outputs = Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value as unknown]));
        return { outputs, changes: result.summary.resourceChanges ?? {}, events };
      };
      const noChanges = async (): Promise<void> => {
        const preview = await stack.preview({ expectNoChanges: true });
        assert.deepEqual(Object.keys(preview.changeSummary).filter((op) => op !== "same"), []);
      };
      try {
        await stack.setConfig("logFile", { value: logFile });

        // Create: both run `create`.
        let r = await up();
        assert.equal(r.changes.create, 3); // the stack and two commands
        assert.deepEqual(r.outputs, { deleteFirst: "dbr-created-v1", createFirst: "cbd-created-v1" });
        assert.deepEqual(runs().sort(), ["cbd create t1/v1", "dbr create t1/v1"]);
        await noChanges();

        // Another command string: an update, which runs `update` with the previous stdout in the environment.
        // logging: "stderr" sends the stderr lines to the engine log while the command runs, not stdout.
        await stack.setConfig("tag", { value: "v2" });
        r = await up();
        assert.equal(r.changes.update, 2);
        assert.deepEqual(r.outputs, { deleteFirst: "dbr-updated-v2", createFirst: "cbd-updated-v2" });
        assert.deepEqual(only("dbr"), ["dbr create t1/v1", "dbr update t1/v2"]);
        // Lines the provider logged for the resource dbr (not the engine's debug messages).
        const logged = r.events.flatMap((e) =>
          e.diagnosticEvent?.urn?.endsWith("::dbr") && e.diagnosticEvent.severity === "info" ? [e.diagnosticEvent.message.trim()] : [],
        );
        assert.ok(logged.includes("dbr previous=dbr-created-v1"), `engine log: ${JSON.stringify(logged)}`);
        assert.ok(!logged.some((m) => m.includes("dbr-updated-v2")), `stdout was logged: ${JSON.stringify(logged)}`);
        await noChanges();

        // Another trigger: a replacement. The old resource's `delete` (from the state: t1/v2) runs before the
        // new `create` with deleteBeforeReplace, after it without.
        await stack.setConfig("trigger", { value: "t2" });
        r = await up();
        assert.equal(r.changes.replace, 2);
        assert.deepEqual(only("dbr").slice(2), ["dbr delete t1/v2", "dbr create t2/v2"]);
        assert.deepEqual(only("cbd").slice(2), ["cbd create t2/v2", "cbd delete t1/v2"]);
        await noChanges();

        // A failing create: `up` fails with the provider's formatted error, and the resource is not in the state.
        const failing = "echo partial-output; sleep 0.2; echo oops >&2; exit 7";
        await stack.setConfig("failing", { value: failing });
        const events: EngineEvent[] = [];
        await assert.rejects(stack.up({ color: "never", onEvent: (e) => events.push(e) }));
        const errors = events.flatMap((e) => (e.diagnosticEvent?.severity === "error" ? [e.diagnosticEvent.message] : []));
        const want = `exit status 7: running ${JSON.stringify(failing)}:\npartial-output\noops\n`;
        assert.ok(errors.some((m) => m.includes(want)), `errors: ${JSON.stringify(errors)}`);
        let state = (await stack.exportStack()).deployment as Checkpoint;
        assert.deepEqual(
          state.resources.filter((res) => res.urn.endsWith("::failing")),
          [],
          "a failed create must leave no resource in the state",
        );
        assert.deepEqual(state.pending_operations ?? [], [], "and no pending operation");

        // Fixed: the next `up` creates it.
        await stack.setConfig("failing", { value: "echo fixed" });
        r = await up();
        assert.equal(r.changes.create, 1);
        assert.equal(r.outputs.failingStdout, "fixed");
        state = (await stack.exportStack()).deployment as Checkpoint;
        assert.equal(state.resources.filter((res) => res.urn.endsWith("::failing")).length, 1);
        await noChanges();

        // Destroy runs each `delete` as recorded in the state.
        const destroy = await stack.destroy();
        assert.equal(destroy.summary.result, "succeeded");
        assert.deepEqual(runs().slice(-2).sort(), ["cbd delete t2/v2", "dbr delete t2/v2"]);
      } finally {
        await stack.workspace.removeStack("dev", { force: true });
      }
    });

    describe("remote.Command against a throwaway sshd on 127.0.0.1", function () {
      let sshd: ChildProcess | undefined;
      let sshDir: string;
      let port: number;

      before(async function () {
        this.timeout(60 * 1000);
        // sshd must run as root to log in as root; CI and the README's test command run as root.
        assert.ok(process.getuid?.() === 0 && fs.existsSync("/usr/sbin/sshd"), "this suite needs root and /usr/sbin/sshd (Debian openssh-server)");
        ({ sshd, dir: sshDir, port } = await startSshd(tmp));
      });

      after(function () {
        sshd?.kill("SIGTERM");
      });

      it("refuses a wrong hostKey, accepts the pinned one, feeds stdin, keeps stdout secret, runs delete on destroy", async function () {
        this.timeout(10 * 60 * 1000);
        const work = fs.mkdtempSync(path.join(tmp, "remote-"));
        const word = `secret-${crypto.randomBytes(8).toString("hex")}`;
        fs.writeFileSync(path.join(work, "word"), `${word}\n`);
        const privateKey = fs.readFileSync(path.join(sshDir, "client"), "utf8");
        const hostKey = fs.readFileSync(path.join(sshDir, "host.pub"), "utf8").trim();
        const otherKey = fs.readFileSync(path.join(sshDir, "other.pub"), "utf8").trim();
        const stack = await fixtureStack("remotecommand");
        try {
          await stack.setAllConfig({
            dir: { value: work },
            host: { value: "127.0.0.1" },
            port: { value: String(port) },
            privateKey: { value: privateKey, secret: true },
            hostKey: { value: otherKey },
          });

          // A host key that is not the server's: the dial fails, nothing runs, nothing is created.
          const events: EngineEvent[] = [];
          await assert.rejects(stack.up({ color: "never", onEvent: (e) => events.push(e) }));
          const errors = events.flatMap((e) => (e.diagnosticEvent?.severity === "error" ? [e.diagnosticEvent.message] : []));
          assert.ok(errors.some((m) => m.includes("host key mismatch")), `errors: ${JSON.stringify(errors)}`);
          assert.ok(!fs.existsSync(path.join(work, "stdin.txt")), "the command ran despite the wrong host key");

          // The server's own key (authorized_keys format, with its comment): accepted.
          await stack.setConfig("hostKey", { value: hostKey });
          const up = await stack.up({ color: "never" });
          assert.equal(up.summary.result, "succeeded");
          assert.equal(fs.readFileSync(path.join(work, "stdin.txt"), "utf8"), "hello from stdin");
          assert.equal(fs.readFileSync(path.join(work, "greeting.txt"), "utf8"), "hello over ssh\n"); // Setenv, AcceptEnv AIOS_*
          assert.equal(up.outputs.stdout.value, word);
          assert.equal(up.outputs.stdout.secret, true);

          // additionalSecretOutputs: ["stdout"] and the secret connection: both secret in the state. The Automation
          // API's exportStack runs `pulumi stack export --show-secrets`, so there a secret shows as
          // {<secret signature>, plaintext}; the stored checkpoint and a plain `pulumi stack export` hold ciphertext.
          const deployment = (await stack.exportStack()).deployment as Checkpoint;
          const resource = deployment.resources.find((res) => res.type === "command:remote:Command");
          assert.ok(resource, "no command:remote:Command in the state");
          for (const key of ["stdout", "connection"]) {
            const value = resource.outputs?.[key] as Record<string, unknown> | undefined;
            assert.ok(value && secretSignature in value, `${key} is not a secret in the state: ${JSON.stringify(value)}`);
          }
          assert.equal(resource.outputs?.stdin, "hello from stdin", "stdin (not secret) is kept in plaintext");
          const plainExport = execFileSync(path.join(bin, "pulumi"), ["stack", "export", "--stack", "dev"], {
            cwd: stack.workspace.workDir,
            env: { ...process.env, ...envVars },
            encoding: "utf8",
          });
          const keyLine = privateKey.split("\n")[1];
          for (const [what, text] of [["pulumi stack export", plainExport], ["the state files", stateFiles()]]) {
            assert.ok(text.includes("hello from stdin"), `${what}: no stdin, is this the right state?`);
            assert.ok(!text.includes(word), `${what}: stdout in plaintext`);
            assert.ok(!text.includes(keyLine), `${what}: the private key in plaintext`);
          }

          const preview = await stack.preview({ expectNoChanges: true });
          assert.deepEqual(Object.keys(preview.changeSummary).filter((op) => op !== "same"), []);

          assert.ok(!fs.existsSync(path.join(work, "deleted.txt")));
          const destroy = await stack.destroy();
          assert.equal(destroy.summary.result, "succeeded");
          assert.equal(fs.readFileSync(path.join(work, "deleted.txt"), "utf8"), "deleted\n");
        } finally {
          await stack.workspace.removeStack("dev", { force: true });
        }
      });
    });
  });

  it("runs a dynamic provider through the Node.js language host and pulumi-resource-pulumi-nodejs", async function () {
    this.timeout(5 * 60 * 1000);
    const outputs = await upPreviewDestroy("dynamic");
    assert.equal(outputs.text, "hello world");
  });

  it(`provides pulumi-resource-kubernetes ${kubernetesPluginVersion}, the version @pulumi/kubernetes asks for, serving NodePatch`, function () {
    this.timeout(5 * 60 * 1000);
    const sdk = JSON.parse(fs.readFileSync(path.join(repoRoot, "node_modules", "@pulumi", "kubernetes", "package.json"), "utf8")) as { version: string };
    assert.equal(sdk.version, kubernetesPluginVersion, "package.json's @pulumi/kubernetes and scripts/toolchain.sh's K8S_PROVIDER_VERSION differ");
    const plugin = path.join(bin, "pulumi-resource-kubernetes");
    assert.ok(fs.existsSync(plugin), `${plugin} is missing: scripts/toolchain.sh k8s-provider did not provide it`);
    const env = { ...process.env, ...envVars };
    execFileSync(path.join(bin, "pulumi"), ["plugin", "install", "resource", "kubernetes", kubernetesPluginVersion, "--file", fs.realpathSync(plugin)], {
      env,
      stdio: ["ignore", "ignore", "inherit"],
    });
    // The engine starts the installed plugin and asks it for its schema over gRPC.
    const schema = JSON.parse(
      execFileSync(path.join(bin, "pulumi"), ["package", "get-schema", `kubernetes@${kubernetesPluginVersion}`], { env, encoding: "utf8", maxBuffer: 64 << 20 }),
    ) as { version: string; resources: Record<string, unknown> };
    assert.equal(schema.version, kubernetesPluginVersion);
    assert.ok(schema.resources["kubernetes:core/v1:NodePatch"], "the provider's schema has no NodePatch");
  });
});

/** The part of an exported deployment the tests look at. */
interface Checkpoint {
  resources: { urn: string; type: string; outputs?: Record<string, unknown> }[];
  pending_operations?: unknown[];
}

/** The key that marks a secret value in a checkpoint. */
const secretSignature = "4dabf18193072939515e22adb298388d";

/** A free TCP port on 127.0.0.1 (closed again; sshd binds it right after). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

/**
 * Starts `sshd -D` on 127.0.0.1 with its own host key and config in a temp folder: root may log in with the
 * generated client key only, and AIOS_* environment variables are accepted. Resolves once it answers.
 */
async function startSshd(parent: string): Promise<{ sshd: ChildProcess; dir: string; port: number }> {
  const dir = fs.mkdtempSync(path.join(parent, "sshd-"));
  for (const name of ["host", "client", "other"]) {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${name}@aios-test`, "-f", path.join(dir, name)]);
  }
  fs.copyFileSync(path.join(dir, "client.pub"), path.join(dir, "authorized_keys"));
  const port = await freePort();
  const config = path.join(dir, "sshd_config");
  fs.writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${path.join(dir, "host")}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "AcceptEnv AIOS_*",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // privilege separation directory
  execFileSync("/usr/sbin/sshd", ["-t", "-f", config]);
  const sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  sshd.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  for (let i = 0; i < 100; i++) {
    if (sshd.exitCode !== null) {
      throw new Error(`sshd exited with ${sshd.exitCode}: ${log}`);
    }
    const banner = await new Promise<string>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("data", (data) => {
        socket.destroy();
        resolve(data.toString());
      });
      socket.once("error", () => resolve(""));
    });
    if (banner.startsWith("SSH-2.0-")) {
      return { sshd, dir, port };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  sshd.kill("SIGTERM");
  throw new Error(`sshd did not answer on port ${port}: ${log}`);
}
