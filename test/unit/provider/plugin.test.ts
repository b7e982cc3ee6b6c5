import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import { z } from "zod";

const grpc = require(require.resolve("@grpc/grpc-js", { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))] })) as typeof grpcTypes;
const repo = path.resolve(__dirname, "..", "..", "..");

describe("the plugin executable", function () {
    this.timeout(60_000);

    it("starts from a checkout's sources, prints its port and answers with the package's version and schema", async () => {
        const version = (JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as { version: string }).version;
        const child = spawn(path.join(repo, "bin", "pulumi-resource-aios-onboarding"), ["127.0.0.1:1"], { stdio: ["ignore", "pipe", "pipe"] });
        try {
            const port = await new Promise<string>((resolve, reject) => {
                let err = "";
                child.stderr.on("data", (d: Buffer) => (err += d.toString()));
                child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
                child.once("exit", (code) => reject(new Error(`the plugin exited with ${code}: ${err}`)));
            });
            assert.match(port, /^\d+$/);
            const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
            const info = await new Promise<string>((resolve, reject) => client.getPluginInfo(new Empty(), (e, r) => (e ? reject(e) : resolve(r.getVersion()))));
            // What `pulumi package get-schema` and the YAML language host read: the package and its version.
            const schema = await new Promise<string>((resolve, reject) => client.getSchema(new provproto.GetSchemaRequest(), (e, r) => (e ? reject(e) : resolve(r.getSchema()))));
            client.close();
            assert.equal(info, version);
            const parsed = z.object({ name: z.string(), version: z.string(), resources: z.record(z.string(), z.unknown()) }).parse(JSON.parse(schema));
            assert.equal(parsed.name, "aios-onboarding");
            assert.equal(parsed.version, version);
            assert.ok("aios-onboarding:index:OnboardedNode" in parsed.resources);
        } finally {
            child.kill();
        }
    });

    it("ends at once on the engine's SIGINT (its shutdown signal) when it holds no join token", async () => {
        const child = spawn(path.join(repo, "bin", "pulumi-resource-aios-onboarding"), ["127.0.0.1:1"], { stdio: ["ignore", "pipe", "pipe"] });
        await new Promise((resolve) => child.stdout.once("data", resolve));
        const started = Date.now();
        const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
        child.kill("SIGINT");
        assert.equal(await exited, 0);
        assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms: the engine waits for it after every run`);
    });
});
