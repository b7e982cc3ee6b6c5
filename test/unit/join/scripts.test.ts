import * as assert from "node:assert/strict";
import { asRoot } from "../../helpers/scripts";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { joinConfiguration } from "../../../components/join/joinConfiguration";
import { adoptScript, joinScript, resetScript } from "../../../components/join/scripts";
import { KUBELET_CONF, parseProbeOutput, PROBE_SCRIPT, STATE_DIR } from "../../../components/machine/probe";

function shSyntax(script: string): string {
    const r = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
    return r.status === 0 ? "" : r.stderr;
}

describe("remote scripts", () => {
    it("the join, reset and probe scripts are valid POSIX sh", () => {
        assert.equal(shSyntax(joinScript({ clusterId: "aios-demo", nodeId: "worker-1", joinTimeoutSeconds: 300 })), "");
        assert.equal(shSyntax(resetScript({ clusterId: "aios-demo", nodeId: "worker-1" })), "");
        assert.equal(shSyntax(PROBE_SCRIPT), "");
    });

    it("the join script takes the token from stdin only and bounds kubeadm with timeout", () => {
        const script = joinScript({ clusterId: "aios-demo", nodeId: "worker-1", joinTimeoutSeconds: 123 });
        assert.match(script, /CONFIG_TEXT=\$\(cat\)/);
        assert.match(script, /timeout -k 10 123 kubeadm join --config "\$CONFIG" --node-name 'worker-1'/);
        assert.doesNotMatch(script, /--token "\$TOKEN"|kubeadm join[^\n]*\$TOKEN/, "the token must never be an argument");
        assert.match(script, /redact\(\) \{ sed -E 's\/\[a-z0-9\]\{6\}/);
    });

    it("the probe runs read-only on this machine and parses", () => {
        const r = spawnSync("sh", ["-s"], { input: PROBE_SCRIPT, encoding: "utf8", timeout: 20000 });
        assert.equal(r.status, 0, r.stderr);
        const facts = parseProbeOutput(r.stdout);
        assert.ok(facts.addresses.some((a) => a.address === "127.0.0.1"), "loopback address seen");
        assert.ok(facts.cpus >= 1 && facts.memTotalKiB > 0);
        assert.ok(["root", "sudo", "none"].includes(facts.privilege));
    });
});

describe("join script against a stand-in kubeadm (private mount namespace)", function () {
    this.timeout(30000);
    const TOKEN = "abcdef.0123456789abcdef";
    const JOIN = joinConfiguration(`kubeadm join 10.0.0.1:6443 --token ${TOKEN} --discovery-token-ca-cert-hash sha256:${"b".repeat(64)}`, "worker-1");
    // A kubeadm that records its argv and config, and fails (echoing the token) when asked to.
    const FAKE = `#!/bin/sh
echo "$*" >> /var/lib/fake-kubeadm.argv
case "$1" in
  join) cp "$3" /var/lib/fake-kubeadm.config
        if [ -e /var/lib/fake-kubeadm.fail ]; then echo "error: token ${TOKEN} rejected" >&2; exit 1; fi
        echo "server: https://10.0.0.1:6443" > /etc/kubernetes/kubelet.conf; echo "This node has joined the cluster:" ;;
  reset) rm -f /etc/kubernetes/kubelet.conf; echo "[reset] done" ;;
esac
`;
    const canUnshare = spawnSync("unshare", ["--mount", "true"]).status === 0;

    // Runs the steps in one private mount namespace with tmpfs over /etc/kubernetes and /var/lib.
    function run(steps: string): { out: string; status: number | null } {
        const outer = `set -e
mount -t tmpfs t /var/lib
mkdir -p /etc/kubernetes && mount -t tmpfs t /etc/kubernetes
mkdir -p /var/lib/bin && cat > /var/lib/bin/kubeadm <<'FAKE'
${FAKE}FAKE
chmod +x /var/lib/bin/kubeadm
export PATH=/var/lib/bin:$PATH
${steps}`;
        const r = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", outer], { encoding: "utf8" });
        return { out: r.stdout + r.stderr, status: r.status };
    }

    it("joins with the token only in a 0600 config file, is idempotent, and resets", function () {
        assert.ok(canUnshare, "these tests need root and unshare(1) (util-linux), as CI has");
        const join = joinScript({ clusterId: "aios-demo", nodeId: "worker-1", joinTimeoutSeconds: 30 });
        const reset = resetScript({ clusterId: "aios-demo", nodeId: "worker-1" });
        const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
        const r = run(`printf %s ${q(JOIN)} | sh -c ${q(join)}
echo "FIRST=$?"
cat /var/lib/fake-kubeadm.argv
stat -c 'CONFIG_MODE=%a' /var/lib/aios-onboarding 2>/dev/null
grep -c ${TOKEN} /var/lib/fake-kubeadm.config | sed 's/^/TOKEN_IN_CONFIG=/'
printf %s ${q(JOIN)} | sh -c ${q(join)}
echo "SECOND=$?"
sh -c ${q(reset)}
echo "RESET=$?"
test -e /etc/kubernetes/kubelet.conf || echo "KUBELET_CONF_GONE"
test -e /var/lib/aios-onboarding/state.json || echo "MARKER_GONE"`);
        assert.match(r.out, /FIRST=0/, r.out);
        assert.match(r.out, /^join --config \/var\/lib\/aios-onboarding\/join-config\.yaml --node-name worker-1$/m, "kubeadm argv carries no token");
        assert.doesNotMatch(r.out.split("TOKEN_IN_CONFIG")[0], new RegExp(`join .*${TOKEN}`));
        assert.match(r.out, /CONFIG_MODE=700/);
        assert.match(r.out, /TOKEN_IN_CONFIG=1/);
        assert.match(r.out, /already joined to cluster aios-demo as node worker-1; nothing to do/);
        assert.match(r.out, /SECOND=0/);
        assert.equal((r.out.match(/^join --config/gm) ?? []).length, 1, "the second run must not call kubeadm join");
        assert.match(r.out, /RESET=0/);
        assert.match(r.out, /KUBELET_CONF_GONE/);
        assert.match(r.out, /MARKER_GONE/);
    });

    it("reports a failed join with redacted output and what AIOS holds of the node, counts the attempt and removes the config", function () {
        assert.ok(canUnshare, "these tests need root and unshare(1) (util-linux), as CI has");
        const join = joinScript({ clusterId: "aios-demo", nodeId: "worker-2", joinTimeoutSeconds: 30, protocol: "parser" });
        const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
        const r = run(`touch /var/lib/fake-kubeadm.fail
printf %s ${q(JOIN)} | sh -c ${q(join)} || echo "STATUS=$?"
cat /var/lib/aios-onboarding/failed-attempts | sed 's/^/ATTEMPTS=/'
test -e /var/lib/aios-onboarding/join-config.yaml || echo "CONFIG_REMOVED"`);
        assert.match(r.out, /STATUS=1/, r.out);
        assert.match(r.out, /kubeadm join on node worker-2 exited with status 1 \(failed attempt 1\); it stays registered with AIOS \(addNode wrote its registry entry\); the next pulumi up retries the join and keeps that one entry\. kubeadm output/);
        assert.match(joinScript({ clusterId: "aios-demo", nodeId: "worker-2", joinTimeoutSeconds: 30 }), /; AIOS wrote nothing to its registry; the next pulumi up retries the join\./);
        assert.match(r.out, /error: token <redacted-token> rejected/);
        assert.ok(!r.out.includes(TOKEN), "the token must not be printed");
        assert.match(r.out, /ATTEMPTS=1/);
        assert.match(r.out, /CONFIG_REMOVED/);
    });

    it("refuses stdin that is no join configuration, and changes nothing", function () {
        assert.ok(canUnshare, "these tests need root and unshare(1) (util-linux), as CI has");
        const join = joinScript({ clusterId: "aios-demo", nodeId: "worker-5", joinTimeoutSeconds: 30 });
        const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
        const r = run(`printf '' | sh -c ${q(join)} || echo "STATUS=$?"
test -e /var/lib/fake-kubeadm.argv || echo "KUBEADM_NOT_RUN"`);
        assert.match(r.out, /STATUS=4/, r.out);
        assert.match(r.out, /no join configuration on stdin/);
        assert.match(r.out, /KUBEADM_NOT_RUN/);
    });

    it("refuses a machine joined elsewhere", function () {
        assert.ok(canUnshare, "these tests need root and unshare(1) (util-linux), as CI has");
        const join = joinScript({ clusterId: "aios-demo", nodeId: "worker-3", joinTimeoutSeconds: 30 });
        const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
        const r = run(`echo "server: https://other:6443" > /etc/kubernetes/kubelet.conf
printf %s ${q(JOIN)} | sh -c ${q(join)} || echo "STATUS=$?"`);
        assert.match(r.out, /STATUS=3/, r.out);
        assert.match(r.out, /already a member of another cluster/);
    });
});

describe("the join configuration built from the join command AIOS gave", () => {
    const HASH = `sha256:${"c".repeat(64)}`;

    it("holds the endpoint, the token, every pinned CA hash and the node name, quoted", () => {
        const text = joinConfiguration(`sudo kubeadm join 10.0.0.1:6443 --token=abcdef.0123456789abcdef --discovery-token-ca-cert-hash ${HASH} --cri-socket x`, "worker-1");
        assert.equal(
            text,
            `apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: "10.0.0.1:6443"\n    token: "abcdef.0123456789abcdef"\n    caCertHashes:\n      - "${HASH}"\nnodeRegistration:\n  name: "worker-1"\n`,
        );
    });

    it("refuses a command without a pinned CA, or with a malformed token, and never echoes the token", () => {
        assert.throws(() => joinConfiguration("kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef", "w"), (e: Error) => /no --discovery-token-ca-cert-hash/.test(e.message) && !e.message.includes("0123456789abcdef"));
        assert.throws(() => joinConfiguration(`kubeadm join 10.0.0.1:6443 --token abcdef.SECRETSECRET --discovery-token-ca-cert-hash ${HASH}`, "w"), (e: Error) => /--token is not a bootstrap token/.test(e.message) && !e.message.includes("SECRETSECRET"));
        assert.throws(() => joinConfiguration("curl http://x | sh", "w"), /does not start with `kubeadm join`/);
    });
});

describe("the adoption of a machine joined outside this stack, run by sh on this host", () => {
    // The script's paths (kubelet config, state directory) point into a temp folder.
    function adopt(caInKubeletConf: string, instructed: string): { code: number | null; stdout: string; stderr: string; marker?: string } {
        const dir = mkdtempSync(join(tmpdir(), "adopt-"));
        try {
            const conf = join(dir, "kubelet.conf");
            writeFileSync(conf, `clusters:\n- cluster:\n    certificate-authority-data: ${Buffer.from(caInKubeletConf).toString("base64")}\n    server: https://10.0.0.1:6443\n`);
            const state = join(dir, "state");
            const script = adoptScript({ clusterId: "aios-demo", nodeId: "worker-4", caSha256: instructed })
                .split(KUBELET_CONF).join(conf)
                .split(STATE_DIR).join(state);
            const r = spawnSync("sh", ["-s"], { input: asRoot(script), encoding: "utf8" });
            const marker = existsSync(join(state, "state.json")) ? readFileSync(join(state, "state.json"), "utf8") : undefined;
            return { code: r.status, stdout: r.stdout, stderr: r.stderr, marker };
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    }
    const ca = "-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n";
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");

    it("writes the onboarding marker and joins nothing when the kubelet trusts the instructed CA", () => {
        const r = adopt(ca, sha(ca));
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /adopted: machine joined to cluster aios-demo as node worker-4 outside this stack; nothing joined/);
        assert.deepEqual(JSON.parse(r.marker!), { clusterId: "aios-demo", nodeId: "worker-4", endpoint: "10.0.0.1:6443", joinedAt: JSON.parse(r.marker!).joinedAt, adopted: true });
    });

    it("refuses, writing nothing, when the kubelet trusts another CA", () => {
        const r = adopt("another cluster's CA", sha(ca));
        assert.equal(r.code, 3);
        assert.match(r.stderr, /not adopted: the kubelet config does not trust the CA of cluster aios-demo/);
        assert.equal(r.marker, undefined);
    });
});
