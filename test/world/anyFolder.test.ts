// A newcomer's first command works wherever the clone is (issue 15): a copy of this checkout under the system
// temp folder, in a folder whose name has a space, with nothing beside it (no ../shared), runs `npm run demo`
// from scratch. Under /tmp the machines' sshd once refused the world's key (StrictModes and a world-writable
// /tmp); a path with a space once broke ssh's known_hosts option. Needs root, like the world.
//
// The world is one per host (its bridge, addresses and namespaces), so this test takes the checkout's own
// world down first; the next suite brings it up again.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

function worldDown(clone: string): void {
    const r = spawnSync("bash", ["scripts/world.sh", "down"], { cwd: clone, encoding: "utf8", timeout: 120_000 });
    assert.strictEqual(r.status, 0, `world.sh down in ${clone}: ${r.stderr}`);
}

describe("the demo from a clone under the system temp folder, in a path with a space", function () {
    this.timeout(20 * 60 * 1000);
    let parent = "";
    let clone = "";
    let demo: { status: number | null; stdout: string; stderr: string };

    before(function () {
        worldDown(ROOT);
        parent = fs.mkdtempSync(path.join(os.tmpdir(), "aios clone "));
        clone = path.join(parent, "project");
        // The checkout's files as git sees them (committed and new, not ignored): what a clone would hold.
        const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
            .split("\0")
            .filter((f) => f && fs.existsSync(path.join(ROOT, f)));
        for (const f of files) fs.cpSync(path.join(ROOT, f), path.join(clone, f), { recursive: true, verbatimSymlinks: true });
        // `npm ci` is the newcomer's; the test reuses this checkout's installed packages.
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(clone, "node_modules"), "dir");
        const r = spawnSync("bash", ["scripts/demo.sh"], { cwd: clone, encoding: "utf8", timeout: 15 * 60 * 1000, env: process.env });
        demo = { status: r.status, stdout: r.stdout, stderr: r.stderr };
    });

    after(function () {
        if (clone && fs.existsSync(path.join(clone, ".world"))) worldDown(clone);
        if (parent) fs.rmSync(parent, { recursive: true, force: true });
    });

    it("has nothing beside the clone", function () {
        assert.deepStrictEqual(fs.readdirSync(parent), ["project"]);
    });

    it("onboards the three machines and prints them Ready, labelled by the controller", function () {
        assert.strictEqual(demo.status, 0, `npm run demo failed in ${clone}:\n${demo.stderr.slice(-4000)}\n${demo.stdout.slice(-2000)}`);
        for (const node of ["worker-1", "worker-2", "worker-3"]) {
            assert.match(demo.stdout, new RegExp(`^${node} +true +${node} +v1\\.36\\.3`, "m"), `the demo's table lacks a Ready ${node}:\n${demo.stdout.slice(-1500)}`);
        }
    });

    it("prints no 'using … from $PATH' warning of the engine", function () {
        assert.doesNotMatch(demo.stdout + demo.stderr, /using \S+ from \$PATH/);
    });

    it("gives each machine its own /tmp and /root although the clone lives under the host's", function () {
        const mounts = fs.readFileSync(path.join(clone, ".world", "machines", "m1", "machine", "mounts"), "utf8");
        for (const target of ["/tmp", "/root"]) {
            const line = mounts.split("\n").find((l) => l.startsWith(`${target}\t`));
            assert.ok(line, `machine m1 has no private ${target}:\n${mounts}`);
            assert.strictEqual(line.split("\t")[1], path.join(clone, ".world", "machines", "m1", "fs", target.slice(1)));
        }
    });
});
