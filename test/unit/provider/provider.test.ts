import { strict as assert } from "node:assert";
import { AiosOnboardingProvider, urnParts } from "../../../provider/provider";
import { secret } from "../../../components/provider/wire";
import { tableDigest, type PrechecksInputs } from "../../../components/prechecks/prechecksResource";
import { sampleInventory } from "../../helpers/inventory";
import { fakeKube, UNREACHABLE_KUBECONFIG } from "../../helpers/fakeKube";
import type { EngineLog } from "../../../provider/engine";

const PRECHECKS_URN = "urn:pulumi:dev::aios-onboarding::aios-onboarding:index:OnboardedNode$aios-onboarding:index:Prechecks::worker-1-prechecks";

/** An engine log that keeps what it was told. */
function recordingLog(): { log: EngineLog; lines: { message: string; warning: boolean }[] } {
    const lines: { message: string; warning: boolean }[] = [];
    const write = (_urn: string, message: string, opts: { warning?: boolean } = {}) => {
        lines.push({ message, warning: !!opts.warning });
        return Promise.resolve();
    };
    return { log: { write } as unknown as EngineLog, lines };
}

describe("the aios-onboarding provider plugin", () => {
    it("at its shutdown deletes the join tokens it handed out that no verification deleted, and says so; warns by name for one the cluster does not take", async () => {
        const kube = await fakeKube();
        try {
            kube.secrets.set("bootstrap-token-abcdef", { type: "bootstrap.kubernetes.io/token", data: {} });
            const { log, lines } = recordingLog();
            const p = new AiosOnboardingProvider("0.1.0", log);
            p.configure({ kubeconfig: secret(kube.kubeconfig) });
            const tokens = p["context"](PRECHECKS_URN, "worker-1-prechecks").joinTokens;
            tokens.issued("abcdef");
            tokens.issued("ghijkl");
            tokens.spent("ghijkl");
            await p.shutdown(2000);
            assert.equal(kube.secrets.has("bootstrap-token-abcdef"), false);
            assert.deepEqual(lines, [{ message: "deleted the join token(s) abcdef: their machines' joins failed or were not verified in this run; the next `pulumi up` gets new ones where a machine still needs to join", warning: false }]);

            const away = recordingLog();
            const q = new AiosOnboardingProvider("0.1.0", away.log);
            q.configure({ kubeconfig: secret(UNREACHABLE_KUBECONFIG) });
            q["context"](PRECHECKS_URN, "worker-1-prechecks").joinTokens.issued("mnopqr");
            await q.shutdown(2000);
            assert.equal(away.lines.length, 1);
            assert.equal(away.lines[0].warning, true);
            assert.match(away.lines[0].message, /^the join token mnopqr could not be deleted \(.+\); it stops working when it expires, or delete Secret kube-system\/bootstrap-token-mnopqr$/);
        } finally {
            await kube.close();
        }
    });

    it("reads the type token and the name of a child's URN", () => {
        assert.deepEqual(urnParts(PRECHECKS_URN), { type: "aios-onboarding:index:Prechecks", name: "worker-1-prechecks" });
        assert.throws(() => urnParts("worker-1"), /not a resource URN: worker-1/);
    });

    it("dispatches on the type token", async () => {
        const p = new AiosOnboardingProvider("0.1.0");
        const table: PrechecksInputs = { nodeId: "worker-1", checks: [{ check: "ssh", expected: "SSH works", observed: "root", status: "passed" }] };
        assert.deepEqual(await p.check(PRECHECKS_URN, {}, table), { inputs: table });
        const outs = { nodeId: "worker-1", digest: tableDigest(table) };
        assert.deepEqual(await p.create(PRECHECKS_URN, table), { id: "worker-1", outs });
        assert.deepEqual(await p.diff("worker-1", PRECHECKS_URN, outs, table), { changes: false });
        await p.delete("worker-1", PRECHECKS_URN, table);
    });

    it("names a type it does not serve and says what to do", async () => {
        const p = new AiosOnboardingProvider("0.1.0");
        await assert.rejects(p.create("urn:pulumi:dev::p::aios-onboarding:index:Teleport::x", {}), /no resource type aios-onboarding:index:Teleport \(it serves aios-onboarding:index:Prechecks, aios-onboarding:index:Registration, aios-onboarding:index:Verification\).*install the plugin of the package's version/);
    });

    it("gives operations the kubeconfig of its configuration, and names the fix when it has none", async () => {
        const p = new AiosOnboardingProvider("0.1.0");
        const urn = "urn:pulumi:dev::p::aios-onboarding:index:OnboardedNode$aios-onboarding:index:Registration::worker-1-registration";
        const ssh = { host: "127.0.0.1", port: 9, user: "root", hostKey: "ssh-ed25519 AAAA", privateKey: "k", connectTimeoutSeconds: 1 };
        const stored = { protocol: "parser", clusterId: "c", nodeId: "worker-1", registryUrl: "http://127.0.0.1:9", httpTimeoutSeconds: 1, forceRemove: true, ssh: secret(ssh), registeredAt: "t", joinConfiguration: secret(""), adopted: false };
        await assert.rejects(p.delete("c/worker-1", urn, stored), /worker-1-registration: the aios-onboarding provider has no kubeconfig; create OnboardingProvider with the cluster's kubeconfig/);
        p.configure({ kubeconfig: secret("not: [a kubeconfig") });
        // With a kubeconfig, the delete goes on to the registry (nothing listens on port 9).
        await assert.rejects(p.delete("c/worker-1", urn, stored), (e: Error) => !/no kubeconfig/.test(e.message));
        assert.throws(() => p.configure({ kubeconfig: 5 }), /the aios-onboarding provider's configuration: 1 problem/);
    });

    it("keeps its own SSH key out of a machine's checked inputs, keeps another key, and names the fix when neither has one", async () => {
        const p = new AiosOnboardingProvider("0.1.0");
        const urn = "urn:pulumi:dev::p::aios-onboarding:index:OnboardedNode$aios-onboarding:index:Registration::worker-1-registration";
        const target = { host: "127.0.0.1", port: 9, user: "root", hostKey: "ssh-ed25519 AAAA", connectTimeoutSeconds: 1 };
        const news = (key: string) => ({ protocol: "parser", clusterId: "c", registryUrl: "http://127.0.0.1:9", mode: "local_network", httpTimeoutSeconds: 1, forceRemove: true, node: sampleInventory, ssh: { ...target, privateKey: secret(key) } });
        // Not configured with a key: the machine's key stays, a secret.
        assert.deepEqual((await p.check(urn, {}, news("the stack key"))).inputs, news("the stack key"));
        p.configure({ kubeconfig: secret("not: [a kubeconfig"), privateKey: secret("the stack key") });
        assert.deepEqual((await p.check(urn, {}, news("the stack key"))).inputs, { ...news("x"), ssh: target });
        assert.deepEqual((await p.check(urn, {}, news("its own key"))).inputs, news("its own key"));

        // A stored target without a key, and a provider without one: the delete says what to do before it reaches anything.
        const stored = { protocol: "parser", clusterId: "c", nodeId: "worker-1", registryUrl: "http://127.0.0.1:9", httpTimeoutSeconds: 1, forceRemove: true, ssh: target, registeredAt: "t", joinConfiguration: secret(""), adopted: false };
        const keyless = new AiosOnboardingProvider("0.1.0");
        keyless.configure({ kubeconfig: secret("not: [a kubeconfig") });
        await assert.rejects(keyless.delete("c/worker-1", urn, stored), /worker-1-registration: no SSH key for machine 127\.0\.0\.1: .*give OnboardingProvider the machines' sshPrivateKey/);
        // With the provider's key, the delete goes on (to the registry, where nothing listens on port 9).
        await assert.rejects(p.delete("c/worker-1", urn, stored), (e: Error) => !/no SSH key/.test(e.message));
    });

    it("reports an operation's error without the tokens a service echoed", async () => {
        const p = new AiosOnboardingProvider("0.1.0");
        const urn = "urn:pulumi:dev::p::aios-onboarding:index:Prechecks::x";
        await assert.rejects(p.create(urn, { nodeId: "worker-1", checks: [{ check: "abcdef.0123456789abcdef", expected: "", observed: "", status: "passed" }] }), (e: Error) => !e.message.includes("0123456789abcdef") && /<redacted-token>/.test(e.message));
    });
});
