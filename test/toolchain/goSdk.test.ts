// Issue 14: the schema the provider plugin serves, as `pulumi package get-schema` reads it, generates a Go SDK
// (Pulumi's own Go code generator, toolchain/go-sdkgen) that compiles against the Go Pulumi SDK.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { z } from "zod";

const run = promisify(execFile);
const repoRoot = path.resolve(__dirname, "..", "..");

/** Runs a command; a failure shows its output. */
async function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  try {
    return (await run(cmd, args, { ...opts, maxBuffer: 64 * 2 ** 20 })).stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${(err.stdout ?? "").slice(-2000)}\n${(err.stderr ?? "").slice(-4000)}`);
  }
}

describe("toolchain: a Go SDK generated from the plugin's schema compiles", function () {
  // A cold Go build cache compiles the code generator and the Go SDK: minutes on 2 cores.
  this.timeout(30 * 60 * 1000);

  it("pulumi package get-schema reads the plugin, and the SDK generated from that schema builds with go build", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aios-gosdk-"));
    try {
      const goEnv = { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod" };
      const schemaText = await sh("bash", ["-c", '. scripts/pulumi-env.sh >/dev/null && pulumi package get-schema ./bin/pulumi-resource-aios-onboarding'], { cwd: repoRoot });
      const schema = z.object({ name: z.literal("aios-onboarding"), resources: z.record(z.string(), z.unknown()) }).parse(JSON.parse(schemaText));
      assert.ok("aios-onboarding:index:OnboardedNode" in schema.resources);
      fs.writeFileSync(path.join(tmp, "schema.json"), schemaText);
      const out = path.join(tmp, "sdk");
      await sh("go", ["run", ".", path.join(tmp, "schema.json"), out], { cwd: path.join(repoRoot, "toolchain", "go-sdkgen"), env: { ...goEnv, GOFLAGS: "-mod=readonly" } });
      const goMod = fs.readFileSync(path.join(out, "go.mod"), "utf8");
      assert.match(goMod, /^module github\.com\/aios-onboarding\/aios-onboarding\/sdk\/go$/m);
      const pkgDir = path.join(out, "aiosonboarding");
      const sources = fs.readdirSync(pkgDir).filter((f) => f.endsWith(".go")).sort();
      for (const f of ["onboardedNode.go", "provider.go", "pulumiTypes.go"]) assert.ok(sources.includes(f), `no ${f} in the generated SDK: ${sources.join(", ")}`);
      assert.match(fs.readFileSync(path.join(pkgDir, "onboardedNode.go"), "utf8"), /func NewOnboardedNode\(ctx \*pulumi\.Context,/);
      await sh("go", ["mod", "tidy"], { cwd: out, env: goEnv });
      await sh("go", ["build", "./..."], { cwd: out, env: goEnv });
      await sh("go", ["vet", "./..."], { cwd: out, env: goEnv });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
