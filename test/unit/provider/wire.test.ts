import { strict as assert } from "node:assert";
import { z } from "zod";
import { decodeProps, hasUnknowns, reveal, secret, UNKNOWN } from "../../../components/provider/wire";

const schema = z.object({ host: z.string().min(1), port: z.number().int(), key: z.string().min(1) }).strict();

describe("properties crossing into the provider plugin", () => {
    it("reveal secrets at any depth and wrap outputs as secrets", () => {
        assert.deepEqual(reveal({ a: secret({ b: secret("x") }), c: [secret(1)] }), { a: { b: "x" }, c: [1] });
        assert.deepEqual(reveal(secret("k")), "k");
        assert.ok(hasUnknowns({ a: [UNKNOWN] }));
        assert.ok(!hasUnknowns({ a: ["known"] }));
    });

    it("decode with every bad field named, and never echo a secret's value", () => {
        assert.throws(
            () => decodeProps("registration m1-registration", schema, { host: "", port: 1.5, key: secret(""), extra: secret("s3cr3t-value") }),
            (e: Error) => {
                assert.match(e.message, /^registration m1-registration: 4 problems/);
                assert.match(e.message, /host: "": /);
                assert.match(e.message, /port: number 1\.5/);
                assert.match(e.message, /key: "\[secret\]"/);
                assert.match(e.message, /has unknown key "extra"/);
                assert.match(e.message, /use OnboardedNode instead of registering it by hand/);
                assert.ok(!e.message.includes("s3cr3t-value"), e.message);
                return true;
            },
        );
    });

    it("let fields not known yet through at preview only", () => {
        const props = { host: "10.0.0.5", port: UNKNOWN, key: secret("k") };
        assert.deepEqual(decodeProps("x", schema, props, { preview: true }), { host: "10.0.0.5", port: UNKNOWN, key: "k" });
        assert.throws(() => decodeProps("x", schema, props), /port: "04da6b54/);
        assert.throws(() => decodeProps("x", schema, { ...props, host: "" }, { preview: true }), /host: ""/);
    });
});
