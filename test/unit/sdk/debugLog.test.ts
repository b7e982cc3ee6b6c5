import * as assert from "node:assert/strict";
import { keepSecretsOutOfDebugLog, withoutSecretValues } from "../../../components/sdk/debugLog";

// What the SDK sends as a debug diagnostic after registering a join (shape from an e2e event stream).
const RESPONSE =
    "RegisterResource RPC finished: resource:worker-4-join[command:remote:Command]; err: null, resp: urn:pulumi:s::p::command:remote:Command::worker-4-join,worker-4-join," +
    "create,set -u,4dabf18193072939515e22adb298388d,1b47061264138c4ac30d75fd1eb44270,value,,,kubeadm join 10.213.0.1:6443 --token szzgfh.0123456789abcdef --discovery-token-ca-cert-hash sha256:00";

describe("the SDK's debug log", () => {
    it("is cut where the first secret value starts", () => {
        const out = withoutSecretValues(RESPONSE);
        assert.ok(!out.includes("szzgfh.0123456789abcdef"));
        assert.match(out, /^RegisterResource RPC finished: resource:worker-4-join\[command:remote:Command\]; err: null, resp: urn:.*create,set -u,… \[cut by aios-onboarding: the rest holds secret values\]$/);
    });

    it("is left alone when it holds no secret", () => {
        assert.equal(withoutSecretValues("Registering resource: t=command:local:Command, name=w-verify"), "Registering resource: t=command:local:Command, name=w-verify");
    });

    it("goes through the guard once installed, however often it is installed", async () => {
        const sent: string[] = [];
        const log = { debug: async (msg: string) => void sent.push(msg) };
        keepSecretsOutOfDebugLog(log);
        keepSecretsOutOfDebugLog(log);
        await log.debug(RESPONSE);
        assert.equal(sent.length, 1);
        assert.ok(!sent[0].includes("--token szzgfh"), sent[0]);
    });

    it("is guarded in the SDK as soon as the component is loaded", async () => {
        await import("../../../components/onboardedNode");
        const sdkLog = require("@pulumi/pulumi/log") as { debug: (m: string) => Promise<void> };
        assert.match(sdkLog.debug.toString(), /withoutSecretValues/);
    });
});
