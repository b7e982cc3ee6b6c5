import { strict as assert } from "node:assert";
import * as path from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import { onConfigure } from "../../../provider/engine";
import { secret } from "../../../components/provider/wire";

const grpc = require(require.resolve("@grpc/grpc-js", { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))] })) as typeof grpcTypes;

describe("the provider plugin's configuration", () => {
    // provider.main answers Configure itself and drops its arguments; the plugin keeps them through
    // onConfigure. This runs a real gRPC server of the SDK's gRPC library, as provider.main does.
    it("reaches the plugin on Configure, before the SDK's own answer, with secrets in their wire form", async () => {
        const received: unknown[] = [];
        onConfigure((args) => received.push(args));
        let answered = 0;
        const impl = {
            configure(_call: unknown, callback: (err: Error | null, resp: provproto.ConfigureResponse) => void) {
                answered++;
                callback(null, new provproto.ConfigureResponse());
            },
        } as unknown as grpcTypes.UntypedServiceImplementation;
        const server = new grpc.Server();
        server.addService(provrpc.ResourceProviderService, impl);
        const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
        const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        try {
            const req = new provproto.ConfigureRequest();
            req.setArgs(Struct.fromJavaScript({ kubeconfig: secret("apiVersion: v1") }));
            await new Promise<void>((resolve, reject) => client.configure(req, (e) => (e ? reject(e) : resolve())));
            assert.deepEqual(received, [{ kubeconfig: secret("apiVersion: v1") }]);
            assert.equal(answered, 1, "the SDK's configure still answers");
        } finally {
            client.close();
            server.forceShutdown();
        }
    });
});
