import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { stepInterpreter } from "../../../components/steps/stepCommand";

const repo = path.join(__dirname, "..", "..", "..");

function runStep(interpreter: string[], step: string, env: NodeJS.ProcessEnv = {}) {
    return spawnSync(interpreter[0], [...interpreter.slice(1), step], { input: "", encoding: "utf8", env: { ...process.env, ...env } });
}

describe("step runner command line", function () {
    this.timeout(60_000);

    it("runs the steps from a transpiled copy of the sources, not through ts-node", () => {
        const interpreter = stepInterpreter();
        assert.deepEqual(interpreter, [process.execPath, path.join(repo, "node_modules", ".cache", "aios-onboarding", "steps", "components", "steps", "runner.js")]);
        const r = runStep(interpreter, "register-refresh", { PULUMI_COMMAND_STDOUT: '{"registeredAt":"2026-11-24T00:00:00.000Z"}' });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.trim(), '{"registeredAt":"2026-11-24T00:00:00.000Z"}');
    });

    it("fails an unknown step with its name", () => {
        const r = runStep(stepInterpreter(), "nope");
        assert.equal(r.status, 1);
        assert.match(r.stderr, /unknown step "nope"/);
    });

    it("replaces a transpiled file whose source changed", () => {
        const target = stepInterpreter()[1];
        writeFileSync(target, "// stale\nprocess.exit(7);\n");
        // A new program run (a new process) refreshes the cache before the steps start.
        const refresh = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", 'require("./components/steps/stepCommand").stepInterpreter()'], { cwd: repo, encoding: "utf8" });
        assert.equal(refresh.status, 0, refresh.stderr);
        assert.match(readFileSync(target, "utf8"), /^\/\/ [0-9a-f]{64}\n/);
        assert.equal(runStep(stepInterpreter(), "register-refresh", { PULUMI_COMMAND_STDOUT: "{}" }).status, 0);
    });
});
