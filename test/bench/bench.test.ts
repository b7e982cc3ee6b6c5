import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// A small run of the scale benchmark (N = 1 and 2, once), so the benchmark cannot rot.
describe("scale benchmark smoke run", function () {
    this.timeout(30 * 60 * 1000);
    it("measures up, baseline, preview, label latency, memory, resources, state and checkpoint writes per machine, and adding one machine, for N = 1 and 2", () => {
        const out = join(mkdtempSync(join(tmpdir(), "aios-bench-smoke-")), "benchmarks.md");
        const r = spawnSync("bash", ["scripts/bench.sh", "--sizes", "1,2", "--repeats", "1", "--out", out], { cwd: join(__dirname, "..", ".."), encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr.slice(-3000));
        const row = r.stdout.split("\n").find((l) => l.startsWith("| 2 |"));
        assert.ok(row, `no row for N=2 in:\n${r.stdout}`);
        const cells = row!.split("|").slice(2, -1).map((c) => c.trim());
        const numbers = cells.map((c) => parseFloat(c));
        assert.equal(cells.length, 16, `expected the 16 measurement columns after N in: ${row}`);
        for (const [i, v] of numbers.entries()) assert.ok(Number.isFinite(v) && v >= 0, `cell ${i} is not a measurement: "${cells[i]}"`);
        assert.match(readFileSync(out, "utf8"), /^# Benchmarks\n\nMeasured \d{4}-\d\d-\d\dT/);
    });
});
