// The two places where this plugin reaches past `@pulumi/pulumi/provider`'s `main`: it keeps the
// provider's configuration (which `main` answers but never hands to the provider), and it writes to
// the engine's log (a provider's stdout and stderr only reach the engine's debug log).
import * as path from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import * as engineRpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engineProto from "@pulumi/pulumi/proto/engine_pb";
import { ResourceProviderService } from "@pulumi/pulumi/proto/provider_grpc_pb";

/** The gRPC library instance the SDK's provider server registers its service with. */
function sdkGrpc(): typeof grpcTypes {
    const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    return require(require.resolve("@grpc/grpc-js", { paths: [sdkDir] })) as typeof grpcTypes;
}

interface ConfigureCall {
    request: { getArgs(): { toJavaScript(): unknown } | undefined };
}
type Unary = (call: ConfigureCall, callback: (err: Error | null, value?: unknown) => void) => void;

/**
 * Calls `receive` with the provider resource's inputs (secrets in their wire form) on every Configure,
 * before the SDK's own answer. The engine configures the provider from its stored inputs when no program
 * runs (`pulumi destroy`, `pulumi refresh`), so the cluster credentials are stored once per stack and
 * reach every operation. Must run before `provider.main`. A `receive` that throws fails the Configure.
 */
export function onConfigure(receive: (args: unknown) => void): void {
    const server = sdkGrpc().Server.prototype;
    const addService = server.addService;
    server.addService = function (this: grpcTypes.Server, service: grpcTypes.ServiceDefinition, impl: grpcTypes.UntypedServiceImplementation) {
        if (service !== ResourceProviderService) return addService.call(this, service, impl);
        const original = impl.configure as unknown as Unary;
        // Methods are looked up on `impl` through the prototype, so the SDK's server keeps its state.
        const wrapped = Object.create(impl) as grpcTypes.UntypedServiceImplementation;
        const configure: Unary = (call, callback) => {
            try {
                receive(call.request.getArgs()?.toJavaScript() ?? {});
            } catch (e) {
                callback(e instanceof Error ? e : new Error(String(e)));
                return;
            }
            original.call(impl, call, callback);
        };
        wrapped.configure = configure as unknown as grpcTypes.UntypedHandleCall;
        return addService.call(this, service, wrapped);
    };
}

/** The engine's log, as the plugin's first argument names it. Messages never fail an operation. */
export class EngineLog {
    private readonly client: engineRpc.EngineClient | undefined;

    constructor(address: string | undefined) {
        this.client = address ? new engineRpc.EngineClient(address, sdkGrpc().credentials.createInsecure()) : undefined;
    }

    /** A message on the resource `urn`: kept under Diagnostics, or (`ephemeral`) only its status line while it works. */
    write(urn: string, message: string, opts: { ephemeral?: boolean; warning?: boolean } = {}): Promise<void> {
        const client = this.client;
        if (!client) return Promise.resolve();
        const req = new engineProto.LogRequest();
        req.setSeverity(opts.warning ? engineProto.LogSeverity.WARNING : engineProto.LogSeverity.INFO);
        req.setMessage(message);
        req.setUrn(urn);
        req.setEphemeral(!!opts.ephemeral);
        return new Promise((resolve) => client.log(req, () => resolve()));
    }
}
