// Scenario 8, the secrets audit. Runs last: it scans everything the suite captured (every engine run's output
// and event stream, every exported state, every `ps` sample taken on machines and on the host during joins)
// plus the engine's own files (the file:// backend with its history and backups, the stack config files, any
// log file the engine or a plugin wrote under its TMPDIR) for every secret the suite has seen: each bootstrap
// token (API server Secrets and the registry's joinCommand, collected at every world reset), the SSH private
// keys, and the admin kubeconfig's credentials. It first runs an onboarding of its own (gateway and parser,
// ps sampled during the joins) so that it has material when run alone.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import {
    aios,
    assertOnboarded,
    bootstrapTokens,
    collectTokens,
    corpus,
    excerpt,
    ledger,
    machineFile,
    newStack,
    registerSuiteHooks,
    resetWorld,
    samplePs,
    samplePsHost,
    SECRET_SIG,
    suiteInfo,
    tokensSeenSince,
    world,
    ok,
} from "./harness";

registerSuiteHooks();

const MIN = 60_000;

interface Needle {
    kind: string;
    value: string;
}

/** The body lines of a PEM or OpenSSH private key (long enough to be unique), and the whole key base64-encoded. */
function keyNeedles(kind: string, pem: string): Needle[] {
    const body = pem
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.length >= 16 && !l.startsWith("-----"));
    return [...body.map((value, i) => ({ kind: `${kind} (line ${i + 1})`, value })), { kind: `${kind} (base64 of the whole key)`, value: Buffer.from(pem).toString("base64").slice(0, 64) }];
}

function needles(): Needle[] {
    const out: Needle[] = [];
    for (const t of ledger.tokens) {
        out.push({ kind: `bootstrap token ${t.split(".")[0]}.<secret>`, value: t });
        out.push({ kind: `bootstrap token secret of ${t.split(".")[0]}`, value: t.split(".")[1] });
    }
    out.push(...keyNeedles("the SSH private key", fs.readFileSync(world().ssh.privateKeyPath, "utf8")));
    ledger.privateKeys.forEach((k, i) => out.push(...keyNeedles(`suite-made SSH private key ${i + 1}`, k)));
    const kc = load(fs.readFileSync(world().kubernetes.kubeconfigPath, "utf8")) as { users?: { name: string; user: Record<string, string> }[] };
    for (const u of kc.users ?? []) {
        const keyData = u.user["client-key-data"];
        if (keyData) {
            // The base64 as stored in the kubeconfig (in 60-character pieces, to catch partial copies) and the PEM it encodes.
            for (let i = 0; i + 60 <= keyData.length; i += 60) out.push({ kind: `kubeconfig client-key-data of ${u.name} (chars ${i}-${i + 60})`, value: keyData.slice(i, i + 60) });
            out.push(...keyNeedles(`kubeconfig client key of ${u.name}`, Buffer.from(keyData, "base64").toString("utf8")));
        }
        if (u.user.token) out.push({ kind: `kubeconfig token of ${u.name}`, value: u.user.token });
        if (u.user.password) out.push({ kind: `kubeconfig password of ${u.name}`, value: u.user.password });
    }
    return out;
}

interface Leak {
    kind: string;
    where: string;
    context: string;
}

/** For an event stream (one JSON event per line): which event holds position `at`. */
function eventAt(text: string, at: number): string {
    const start = text.lastIndexOf("\n", at) + 1;
    const end = text.indexOf("\n", at);
    const line = text.slice(start, end < 0 ? undefined : end);
    const index = text.slice(0, start).split("\n").length - 1;
    try {
        const e = JSON.parse(line) as { diagnosticEvent?: { severity: string; urn?: string; message: string }; [k: string]: unknown };
        if (e.diagnosticEvent) return `event #${index}: diagnosticEvent severity=${e.diagnosticEvent.severity} "${e.diagnosticEvent.message.slice(0, 90)}…"`;
        return `event #${index}: ${Object.keys(e).filter((k) => k !== "sequence" && k !== "timestamp").join(",")}`;
    } catch {
        return `line ${index}`;
    }
}

function findLeaks(haystacks: { source: string; text: string }[], ns: Needle[]): Leak[] {
    const leaks: Leak[] = [];
    for (const h of haystacks) {
        for (const n of ns) {
            const at = h.text.indexOf(n.value);
            if (at < 0) continue;
            // Show where, never the secret itself.
            const context = (h.text.slice(Math.max(0, at - 80), at) + "<SECRET>" + h.text.slice(at + n.value.length, at + n.value.length + 60)).replace(/\s+/g, " ");
            leaks.push({ kind: n.kind, where: h.source.endsWith("events") ? `${h.source}, ${eventAt(h.text, at)}` : h.source, context });
        }
    }
    return leaks;
}

function filesUnder(dir: string): string[] {
    const out: string[] = [];
    if (!fs.existsSync(dir)) return out;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...filesUnder(p));
        else if (e.isFile()) out.push(p);
    }
    return out;
}

describe("8. secrets audit (after the scenarios and the fault matrix)", function () {
    this.timeout(15 * MIN);

    it("8. no join token, SSH private key or kubeconfig credential appears in plaintext in the exported states, the engine's output, events and log files, or any process list sampled during a join", async function () {
        await resetWorld();
        // An onboarding of the audit's own: gateway (fresh tokens from join-node) on m1 and m2, parser (the
        // registry's static token) on m3, with ps sampled on the machines and the host while they join.
        await aios.faults({ parser: { addNode: "intended" } });
        // m1 declares a label: the stack's kubernetes provider (which holds the kubeconfig) is audited too.
        const gateway = await newStack("audit-gateway", { machines: [{ m: "m1", labels: { "e2e.example.com/audit": "yes" } }, "m2"] });
        const parser = await newStack("audit-parser", { protocol: "parser", machines: ["m3"] });
        const started = Date.now();
        try {
            const samplers = ["m1", "m2", "m3"].map((m) => samplePs(m));
            const host = samplePsHost();
            const [g, p] = await Promise.all([gateway.up(), parser.up()]);
            const seen = (await Promise.all(samplers.map((s) => s.stop()))).flat();
            await host.stop();
            ok(g.ok, `gateway up failed:\n${excerpt(g.text)}`);
            ok(p.ok, `parser up failed:\n${excerpt(p.text)}`);
            for (const id of ["worker-1", "worker-2", "worker-3"]) await assertOnboarded(id);
            ok(seen.some((l) => /kubeadm join/.test(l)), "no ps sample caught a kubeadm join");
            // No join credential of these stacks is left: the gateway's tokens were deleted once verified.
            const used = tokensSeenSince(started).map((t) => t.id);
            ok(used.length >= 2, `the token watcher saw ${used.length} tokens during the audit's joins`);
            const left = (await bootstrapTokens()).map((t) => t.name.replace(/^bootstrap-token-/, ""));
            assert.deepEqual(used.filter((id) => left.includes(id)), [], "join tokens of the audit's stacks left in kube-system");
            // The join logs the product leaves on the machines are logs too.
            for (const m of ["m1", "m2", "m3"]) corpus.add(`${m}:/var/lib/aios-onboarding/join.log`, (await machineFile(m, "/var/lib/aios-onboarding/join.log")) ?? "");
            await collectTokens();
            await gateway.exportState();
            await parser.exportState();
            for (const s of [gateway, parser]) {
                const d = await s.destroy();
                ok(d.ok, `destroy failed:\n${excerpt(d.text)}`);
            }
        } finally {
            await gateway.remove();
            await parser.remove();
        }
        await collectTokens();

        const ns = needles();
        ok(ledger.tokens.size >= 2, `only ${ledger.tokens.size} bootstrap tokens were collected`);
        // Every token the product minted in this suite (joinToken: mint) carried an expiration of at most 15 minutes.
        for (const t of ledger.seen.values()) {
            if (!t.description.startsWith("aios-onboarding:")) continue;
            ok(t.expiresAt && Date.parse(t.expiresAt) - t.firstSeen <= 15 * MIN + 2_000, `minted token ${t.id} expires ${t.expiresAt ?? "never"} (first seen ${new Date(t.firstSeen).toISOString()})`);
        }

        // Positive control: the needles do match where the secrets legitimately are.
        const registryText = JSON.stringify(await aios.cluster());
        ok(findLeaks([{ source: "registry document", text: registryText }], ns).some((l) => /bootstrap token/.test(l.kind)), "the audit cannot even find the static token in the registry document");
        ok(findLeaks([{ source: "ssh key file", text: fs.readFileSync(world().ssh.privateKeyPath, "utf8") }], ns).length > 0, "the audit cannot find the SSH key in its own file");
        ok(findLeaks([{ source: "kubeconfig", text: fs.readFileSync(world().kubernetes.kubeconfigPath, "utf8") }], ns).some((l) => /kubeconfig/.test(l.kind)), "the audit cannot find the kubeconfig key in its own file");

        // Non-vacuity: the material holds what the audit is about.
        const items = corpus.items;
        const states = items.filter((i) => i.source.endsWith("exported state"));
        ok(states.length >= 2, "no exported states were captured");
        ok(
            states.some((s) => s.text.includes(SECRET_SIG) && s.text.includes("ciphertext")),
            "the exported states hold no encrypted secrets at all (so the audit would prove nothing)",
        );
        ok(items.some((i) => i.source === "ps" && /kubeadm join --config/.test(i.text)), "no ps sample shows the join's command line");
        ok(items.some((i) => /events$/.test(i.source) && i.text.includes("command:remote:Command")), "no event stream of a join was captured");

        // The engine's own files: backend (states, history, backups, locks), Pulumi.<stack>.yaml, logs in its TMPDIR.
        const files = filesUnder(suiteInfo().tmp).map((f) => ({ source: path.relative(suiteInfo().tmp, f), text: fs.readFileSync(f, "latin1") }));
        ok(files.some((f) => /backend\/.pulumi\/stacks\//.test(f.source)), "no backend state files found");
        const logFiles = files.filter((f) => f.source.startsWith("engine-tmp/"));

        const leaks = [...findLeaks(items, ns), ...findLeaks(files, ns)];
        const report = leaks
            .slice(0, 40)
            .map((l) => `- ${l.kind} in ${l.where}: …${l.context}…`)
            .join("\n") + (leaks.length > 40 ? `\n… and ${leaks.length - 40} more` : "");
        process.stdout.write(
            `      (audit: ${ns.length} secret needles (${ledger.tokens.size} bootstrap tokens, ${1 + ledger.privateKeys.length} SSH keys, the kubeconfig key) ` +
                `over ${items.length} captured texts (${states.length} exported states, ${items.filter((i) => i.source === "ps").length} ps sample sets) ` +
                `and ${files.length} engine files (${logFiles.length} in the engine's TMPDIR))\n`,
        );
        assert.equal(leaks.length, 0, `secrets in plaintext:\n${report}`);
    });
});
