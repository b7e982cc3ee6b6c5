import * as assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { removeKubeconfigCopies } from "../../../components/kube/providerCopies";

// A key and another made for this run; the certificate is only data that rides along.
const newKey = () => generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const KEY = newKey();
const OTHER_KEY = newKey();
const CERT = "-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n";
const b64 = (s: string) => Buffer.from(s).toString("base64");

function kubeconfig(user: Record<string, string>): string {
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: c, cluster: {server: 'https://10.213.0.1:6443'}}]",
        `users: [{name: u, user: ${JSON.stringify(user)}}]`,
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
    ].join("\n");
}

describe("the kubernetes provider's plaintext kubeconfig copies", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "copies-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
    const left = () => fs.readdirSync(dir).sort();

    it("are removed when they hold this kubeconfig's client key, as the provider writes it", () => {
        const ours = kubeconfig({ "client-certificate-data": b64(CERT), "client-key-data": b64(KEY) });
        // What clientcmd.WriteToFile writes: the same data, re-serialized.
        write("kubeconfig2940251837", `apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.213.0.1:6443\n  name: c\nusers:\n- name: u\n  user:\n    client-certificate-data: ${b64(CERT)}\n    client-key-data: ${b64(KEY)}\n`);
        write("kubeconfig11", "client-key-data: " + b64(OTHER_KEY));
        write("kubeconfig-mine", "client-key-data: " + b64(KEY));
        write("notes", b64(KEY));
        assert.equal(removeKubeconfigCopies(ours, dir), 1);
        assert.deepEqual(left(), ["kubeconfig-mine", "kubeconfig11", "notes"], "only the provider's copy of this kubeconfig goes");
    });

    it("are removed when they hold this kubeconfig's token", () => {
        const token = "abcdef.0123456789abcdef0123";
        write("kubeconfig42", `users:\n- name: u\n  user:\n    token: ${token}\n`);
        assert.equal(removeKubeconfigCopies(kubeconfig({ token }), dir), 1);
        assert.deepEqual(left(), []);
    });

    it("are never followed through a symbolic link", () => {
        const target = path.join(dir, "elsewhere");
        fs.writeFileSync(target, "client-key-data: " + b64(KEY));
        fs.symlinkSync(target, path.join(dir, "kubeconfig7"));
        assert.equal(removeKubeconfigCopies(kubeconfig({ "client-certificate-data": b64(CERT), "client-key-data": b64(KEY) }), dir), 0);
        assert.ok(fs.existsSync(target));
    });

    it("leave everything alone for a kubeconfig that cannot be read, or a missing folder", () => {
        write("kubeconfig1", "client-key-data: " + b64(KEY));
        assert.equal(removeKubeconfigCopies("not: [valid", dir), 0);
        assert.equal(removeKubeconfigCopies(kubeconfig({ token: "t0123456789abcdef0123" }), path.join(dir, "missing")), 0);
        assert.deepEqual(left(), ["kubeconfig1"]);
    });
});
