// The real Pulumi engine built by scripts/toolchain.sh, driven through the Automation API with a file://
// backend and no network: up, preview --expect-no-changes, destroy.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";

const repoRoot = path.resolve(__dirname, "..", "..");
const fixtures = path.join(__dirname, "fixtures");

// The versions package.json's npm SDKs ask the engine for.
const pulumiVersion = "3.259.0";
const commandPluginVersion = "1.2.1";

/** The toolchain bin folder: $AIOS_TOOLS_BIN, else the last line printed by scripts/toolchain.sh. */
function toolsBin(): string {
  const fromEnv = process.env.AIOS_TOOLS_BIN;
  if (fromEnv) {
    return fromEnv;
  }
  const out = execFileSync("bash", [path.join(repoRoot, "scripts", "toolchain.sh"), "pulumi", "command"], {
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
    envVars = {
      PATH: [bin, path.join(repoRoot, "node_modules", ".bin"), process.env.PATH ?? ""].join(path.delimiter),
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
    pulumiCommand = await PulumiCommand.get({ root: path.dirname(bin) });
  });

  after(function () {
    if (tmp) {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it(`is the stamped pulumi v${pulumiVersion}`, function () {
    assert.equal(pulumiCommand.version?.toString(), pulumiVersion);
  });

  /**
   * up, preview --expect-no-changes and destroy of a fixture program; returns the outputs of `up`. The program
   * runs from a copy in the temp folder (the workspace writes Pulumi.<stack>.yaml next to Pulumi.yaml), with the
   * repository's node_modules linked in.
   */
  async function upPreviewDestroy(fixture: string): Promise<Record<string, unknown>> {
    const workDir = path.join(tmp, fixture);
    fs.cpSync(path.join(fixtures, fixture), workDir, { recursive: true });
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(workDir, "node_modules"), "dir");
    const stack: Stack = await LocalWorkspace.createOrSelectStack(
      { stackName: "dev", workDir },
      { pulumiCommand, envVars },
    );
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

  it("creates a @pulumi/command local.Command, previews no changes, destroys it", async function () {
    this.timeout(5 * 60 * 1000);
    const plugin = path.join(bin, "pulumi-resource-command");
    assert.ok(
      fs.existsSync(plugin),
      `${plugin} is missing: scripts/toolchain.sh could not provide pulumi-resource-command ${commandPluginVersion}` +
        " (see its warning and docs/toolchain.md)",
    );
    // Install the plugin under the exact version @pulumi/command asks for, from the file: no download.
    execFileSync(
      path.join(bin, "pulumi"),
      ["plugin", "install", "resource", "command", commandPluginVersion, "--file", fs.realpathSync(plugin)],
      { env: { ...process.env, ...envVars }, stdio: ["ignore", "ignore", "inherit"] },
    );
    const outputs = await upPreviewDestroy("localcommand");
    assert.equal(outputs.stdout, "hello");
  });

  it("runs a dynamic provider through the Node.js language host and pulumi-resource-pulumi-nodejs", async function () {
    this.timeout(5 * 60 * 1000);
    const outputs = await upPreviewDestroy("dynamic");
    assert.equal(outputs.text, "hello world");
  });
});
