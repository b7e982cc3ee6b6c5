/**
 * Client of the AIOS parser's `addNode` action: the documented ("parser") registration protocol
 * (contract §1 generation A, §3).
 */
import { AiosError, asObject, errorText, HttpOptions, JsonResponse, normalizeBaseUrl, requestJson } from "./http";
import { NodeDocument, parseNodeDocument } from "./schemas";

/** A successful `addNode`. */
export interface AddNodeResult {
    /** The action's `result` (the updated cluster document when the downstream route works). */
    result: unknown;
}

/** Talks to `POST {api-url}/api/<action>`. */
export class ParserClient {
    private readonly apiUrl: string;
    private readonly opts: HttpOptions;

    /**
     * @param apiUrl the parser's base URL (NodePort 30501 on the management cluster, contract §3.1)
     * @param opts timeouts; `urlSetting` names the user's setting in fix hints (default `parserUrl`)
     */
    constructor(apiUrl: string, opts: HttpOptions = {}) {
        const urlSetting = opts.urlSetting ?? "parserUrl";
        this.opts = { ...opts, urlSetting };
        this.apiUrl = normalizeBaseUrl("parser", urlSetting, apiUrl);
    }

    /**
     * Registers a node with a cluster. Sent once, never retried: it runs the add_node policies and
     * appends to the registry (contract §3.3), so a repeat could register the node twice.
     */
    async addNode(clusterId: string, node: NodeDocument): Promise<AddNodeResult> {
        const nodeData = parseNodeDocument(node);
        const operation = `registering node ${nodeData.id} with cluster ${clusterId}`;
        // contract §3.2: the parser code reads values.clusterId and values.nodeData; the documented
        // flat `values` shape fails with HTTP 500. "Parser/V1" exactly, or the parser calls the
        // template store's policy (contract §3.2).
        const body = {
            header: { templateUri: "Parser/V1", parameters: {} },
            body: { spec: { values: { clusterId, nodeData } } },
        };
        const res = await requestJson(
            { service: "parser", operation, method: "POST", url: `${this.apiUrl}/api/addNode`, body, retryable: false },
            this.opts,
        );
        return decodeAddNode(res, operation);
    }
}

function decodeAddNode(res: JsonResponse, operation: string): AddNodeResult {
    const body = asObject(res.body);
    const base = { service: "parser" as const, operation, url: res.url, status: res.status };
    if (res.status !== 200) {
        // contract §3.1: 400 {"error":"Invalid JSON input"}; 500 {"error": str(exception)}.
        const fix =
            res.status === 500
                ? "the parser could not process the request; its error names the failing key or action (contract §3.1-§3.2)"
                : "check the request against contract §3.2";
        throw new AiosError({ ...base, kind: "http", reason: errorText(res.body), fix });
    }
    if (body?.success !== true) {
        throw new AiosError({ ...base, kind: "failed", reason: errorText(res.body), fix: "see the parser's logs" });
    }
    // contract §3.1: downstream failures come back as HTTP 200 with success:true and
    // result = [false, "<message>"] (a Python tuple turned into a JSON array).
    const failure = failureOf(body.result);
    if (failure !== undefined) {
        throw new AiosError({ ...base, kind: "failed", reason: failure, fix: downstreamFix(failure) });
    }
    return { result: body.result };
}

/** The message of a `[false, msg]` (or bare `false`) result, else undefined. */
function failureOf(result: unknown): string | undefined {
    if (result === false) return "the parser returned result false without a message";
    if (!Array.isArray(result) || result[0] !== false) return undefined;
    const msg = result[1];
    return typeof msg === "string" && msg !== "" ? msg : `the parser returned ${JSON.stringify(result).slice(0, 200)}`;
}

function downstreamFix(message: string): string {
    // contract §3.3: the parser forwards to {gateway}/nodes/add-node-to-cluster, which current
    // gateways lack; their HTML 404 reaches us as this JSON decoding error.
    if (message.startsWith("Expecting value")) {
        return "the parser's downstream gateway route /nodes/add-node-to-cluster/<cluster> does not exist in current AIOS gateways (contract §3.3); use the gateway protocol";
    }
    return "the parser forwarded the node to the cluster-controller gateway, which failed; check the gateway (CLUSTER_CONTROLLER_GATEWAY_URL of the parser)";
}
