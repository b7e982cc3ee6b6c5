import * as assert from "node:assert/strict";
import { parseJoinCommand, redactSecrets } from "../../../components/aios";

const TOKEN = "abcdef.0123456789abcdef";
const HASH = `sha256:${"0f".repeat(32)}`;

describe("redactSecrets", function () {
    it("replaces every bootstrap token, wherever it appears", function () {
        assert.equal(redactSecrets(`a ${TOKEN} b ${TOKEN}`), "a <redacted-token> b <redacted-token>");
        assert.equal(redactSecrets(`{"token":"${TOKEN}"}`), '{"token":"<redacted-token>"}');
    });

    it("replaces any value given to --token, even one that is not canonical", function () {
        assert.equal(redactSecrets("kubeadm join h:6443 --token NotCanonical.Secret --discovery-token-ca-cert-hash x"), "kubeadm join h:6443 --token <redacted-token> --discovery-token-ca-cert-hash x");
        assert.equal(redactSecrets(`kubeadm join h:6443 --token=${TOKEN}`), "kubeadm join h:6443 --token=<redacted-token>");
    });

    it("leaves the CA hash, host names and ordinary text alone", function () {
        const text = `kubeadm join cluster-west-vision-001.company.net:6443 --discovery-token-ca-cert-hash ${HASH}`;
        assert.equal(redactSecrets(text), text);
    });
});

describe("parseJoinCommand", function () {
    it("accepts --flag=value forms, a leading sudo and extra flags, keeping the extras in order", function () {
        const parsed = parseJoinCommand(`sudo kubeadm join 10.0.0.10:6443 --token=${TOKEN} --discovery-token-ca-cert-hash=${HASH} --cri-socket unix:///run/containerd/containerd.sock`);
        assert.deepEqual(parsed, { endpoint: "10.0.0.10:6443", token: TOKEN, caCertHashes: [HASH], extraArgs: ["--cri-socket", "unix:///run/containerd/containerd.sock"] });
    });

    for (const [label, command, message] of [
        ["is not kubeadm join", `kubectl join 1.2.3.4:6443 --token ${TOKEN}`, /does not start with `kubeadm join`/],
        ["has no endpoint", `kubeadm join --token ${TOKEN} --discovery-token-ca-cert-hash ${HASH}`, /no `<host>:<port>`/],
        ["has no token", `kubeadm join 1.2.3.4:6443 --discovery-token-ca-cert-hash ${HASH}`, /no --token/],
        ["has a token of the wrong shape", `kubeadm join 1.2.3.4:6443 --token ABCDEF.0123456789ABCDEF --discovery-token-ca-cert-hash ${HASH}`, /not a bootstrap token/],
        ["stores the hash with its prefix (sha256:sha256:...)", `kubeadm join 1.2.3.4:6443 --token ${TOKEN} --discovery-token-ca-cert-hash sha256:${HASH}`, /hex digits only/],
    ] as const) {
        it(`fails, without echoing the token, when the command ${label}`, function () {
            assert.throws(
                () => parseJoinCommand(command),
                (e: Error) => {
                    assert.match(e.message, message);
                    assert.ok(!e.message.includes("0123456789") && !e.message.toLowerCase().includes("abcdef."), e.message);
                    return true;
                },
            );
        });
    }
});
