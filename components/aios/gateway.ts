/**
 * Client of the AIOS cluster-controller gateway: the join/remove flow the current AIOS code runs
 * ("gateway" protocol, contract §1 generation B, §4, §7).
 */
import { AiosError, asObject, errorText, HttpOptions, JsonResponse, normalizeBaseUrl, requestJson } from "./http";
import { NodeDocument, parseNodeDocument } from "./schemas";
import { parseJoinCommand } from "./secrets";

/**
 * `local_network` joins via `config.localNetworkHostName`, `public` via `config.publicHostname`
 * (contract §4.2).
 */
export type JoinMode = "local_network" | "public";

/** Options of `joinNode`. */
export interface JoinNodeOptions {
    mode: JoinMode;
    /** A key of `config.secondaryIPs`; takes precedence over `mode` (contract §4.2). */
    customIp?: string;
}

/** Which policy decided: the gateway's (network) or the cluster's, run by the membership server. */
export type PolicyScope = "network" | "cluster";

/** The answer of a policy dry run. */
export interface PolicyDecision {
    allowed: boolean;
    /** Set when denied. */
    scope?: PolicyScope;
    /** The policy's reason, when denied. */
    reason?: string;
}

/** Talks to `{gateway}/...` (NodePort 30600, contract §4.1). */
export class GatewayClient {
    private readonly gatewayUrl: string;
    private readonly opts: HttpOptions;

    /**
     * @param gatewayUrl the gateway's base URL
     * @param opts timeouts and retries; `urlSetting` names the user's setting in fix hints (default `gatewayUrl`)
     */
    constructor(gatewayUrl: string, opts: HttpOptions = {}) {
        const urlSetting = opts.urlSetting ?? "gatewayUrl";
        this.opts = { ...opts, urlSetting };
        this.gatewayUrl = normalizeBaseUrl("gateway", urlSetting, gatewayUrl);
    }

    /**
     * Asks the network and cluster `add_node` policies whether the node may join, without side
     * effects. This is the only place a policy's reason reaches a client (contract §4.4, §5.4).
     */
    async dryRunAddNode(clusterId: string, node: NodeDocument): Promise<PolicyDecision> {
        const doc = parseNodeDocument(node);
        const operation = `dry-running add_node for node ${doc.id} on cluster ${clusterId}`;
        // contract §4.4: the body is the bare node document.
        const url = `${this.gatewayUrl}/pre-check-policies/add_node/dry_run/${enc(clusterId)}`;
        return this.dryRun(url, operation, doc);
    }

    /** Asks the `remove_node` policies whether the node may be removed (contract §4.4). */
    async dryRunRemoveNode(clusterId: string, nodeId: string): Promise<PolicyDecision> {
        const operation = `dry-running remove_node for node ${nodeId} on cluster ${clusterId}`;
        // contract §4.4: the body is ignored; we send what the Go membership client sends.
        const url = `${this.gatewayUrl}/pre-check-policies/remove_node/dry_run/${enc(clusterId)}/${enc(nodeId)}`;
        return this.dryRun(url, operation, { node_id: nodeId });
    }

    /**
     * Asks for a join command. Returns it only when HTTP 200 && success && result.success && a
     * non-empty result.join_command (contract §4.2, §10.3). The command holds a bootstrap token:
     * treat it as a secret. Sent once, never retried: each call mints a token and starts the
     * 300 s labelling waiter (contract §4.3).
     */
    async joinNode(clusterId: string, node: NodeDocument, options: JoinNodeOptions): Promise<string> {
        const doc = parseNodeDocument(node);
        const operation = `joining node ${doc.id} to cluster ${clusterId}`;
        const body: Record<string, unknown> = { node_data: doc, mode: options.mode };
        if (options.customIp !== undefined) body.custom_ip = options.customIp;
        const res = await this.post(`${this.gatewayUrl}/join-node/${enc(clusterId)}`, operation, body, false);
        const explain = (): Promise<PolicyDecision> => this.dryRunAddNode(clusterId, doc);
        await this.throwIfRejected(res, operation, explain, "add_node");

        const json = asObject(res.body);
        const result = asObject(json?.result);
        const command = result?.join_command;
        if (json?.success === true && result?.success === true && typeof command === "string" && command.trim() !== "") {
            try {
                parseJoinCommand(command);
            } catch (e) {
                throw this.error(res, operation, "malformed", (e as Error).message, "check the gateway and membership server versions");
            }
            return command;
        }
        if (result?.success === false) {
            // contract §4.2: the join command could not be generated; reported as HTTP 200.
            throw this.error(res, operation, "failed", errorText(result), joinFailureFix(errorText(result)));
        }
        throw this.error(res, operation, "malformed", `HTTP 200 without a join command (success=${String(json?.success)}, result.success=${String(result?.success)})`, "check the gateway version");
    }

    /**
     * Deregisters a node: the membership server cordons it, evicts its pods and removes it from
     * the registry (contract §7). Returns the server's message. A node that Kubernetes does not
     * know gives an AiosError of kind `failed` with `notInKubernetes: true`, which callers may
     * treat as already removed. Sent once, never retried (it evicts pods).
     */
    async removeNode(clusterId: string, nodeId: string): Promise<string> {
        const operation = `removing node ${nodeId} from cluster ${clusterId}`;
        const res = await this.post(`${this.gatewayUrl}/remove-node/${enc(clusterId)}`, operation, { node_id: nodeId }, false);
        await this.throwIfRejected(res, operation, () => this.dryRunRemoveNode(clusterId, nodeId), "remove_node");

        const json = asObject(res.body);
        const result = asObject(json?.result);
        const message = typeof result?.message === "string" ? result.message : "";
        if (json?.success === true && result?.success === true) return message;
        if (result?.success === false) {
            // contract §7: "(404) Reason: NotFound" is the Kubernetes API's answer for an unknown node.
            if (/\(404\)\s*Reason:\s*NotFound/i.test(message)) {
                const err = new AiosError({
                    ...this.fields(res, operation),
                    kind: "failed",
                    reason: `${message}: node ${nodeId} is not a Kubernetes node of cluster ${clusterId}`,
                    fix: "nothing to drain; treat the node as already removed from Kubernetes",
                    notInKubernetes: true,
                });
                throw err;
            }
            throw this.error(res, operation, "failed", errorText(result), "see the membership server's logs");
        }
        throw this.error(res, operation, "malformed", `HTTP 200 without result.success (success=${String(json?.success)})`, "check the gateway version");
    }

    /**
     * Reads the gateway's network policy map (`GET /pre-check-policies/get`). Entries must be
     * `{policyRuleURI, parameters}` objects: a plain string (the documented form) makes every
     * join fail with `'str' object has no attribute 'get'` (contract §5.1).
     */
    async getPolicyMap(): Promise<Record<string, unknown>> {
        const operation = "reading the network policy map";
        const res = await requestJson({ service: "gateway", operation, method: "GET", url: `${this.gatewayUrl}/pre-check-policies/get`, retryable: true }, this.opts);
        if (res.status !== 200) throw this.error(res, operation, "http", errorText(res.body), "see the gateway's logs");
        const map = asObject(asObject(res.body)?.map);
        if (!map) throw this.error(res, operation, "malformed", "HTTP 200 without a `map` object", "check the gateway version");
        return map;
    }

    /** POSTs a dry run (retryable: no side effects) and decodes its decision. */
    private async dryRun(url: string, operation: string, body: unknown): Promise<PolicyDecision> {
        const res = await this.post(url, operation, body, true);
        if (res.status !== 200) throw this.error(res, operation, "http", errorText(res.body), policyErrorFix(errorText(res.body)));
        const json = asObject(res.body);
        if (typeof json?.allowed !== "boolean") {
            throw this.error(res, operation, "malformed", "HTTP 200 without an `allowed` flag", "check the gateway version");
        }
        return decisionOf(json);
    }

    /**
     * Turns the two ways the gateway hides a policy rejection into a `rejected` error with the
     * policy's reason, fetched from the dry run (contract §5.4):
     * - network policy: HTTP 200 `{"allowed": false, "message": ...}` without a reason (§4.2);
     * - cluster policy: an opaque HTTP 500 (§4.2). A 500 the dry run does not explain is an
     *   ordinary `http` error with the 500's text.
     * Returns for a 200 that is not a denial; throws for every other status.
     */
    private async throwIfRejected(res: JsonResponse, operation: string, explain: () => Promise<PolicyDecision>, action: string): Promise<void> {
        const json = asObject(res.body);
        const deniedOutright = res.status === 200 && json?.allowed === false;
        if (res.status === 200 && !deniedOutright) return;
        // Only a 500 can hide a policy decision; a 502/503/504 comes from a proxy or an overloaded gateway.
        if (res.status !== 200 && res.status !== 500) {
            throw this.error(res, operation, "http", errorText(res.body), "check gatewayUrl, the cluster id and that the gateway is healthy");
        }
        let decision: PolicyDecision | undefined;
        let whyUnknown = "";
        try {
            decision = await explain();
        } catch (e) {
            whyUnknown = AiosError.isInstance(e) ? e.reason : String(e);
        }
        if (decision && !decision.allowed) {
            const fix = `change the machine or the ${decision.scope} ${action} policy`;
            throw this.error(res, operation, "rejected", `${decision.scope} policy: ${decision.reason}`, fix);
        }
        const note = decision ? "a dry run now allows it" : `the dry run that could explain it failed: ${whyUnknown}`;
        if (deniedOutright) {
            // contract §4.2: the network policy's reason is discarded by the join route.
            const fix = `change the machine or the network ${action} policy`;
            throw this.error(res, operation, "rejected", `network policy: ${errorText(res.body)} (${note})`, fix);
        }
        throw this.error(res, operation, "http", `${errorText(res.body)} (${note})`, policyErrorFix(errorText(res.body)));
    }

    private post(url: string, operation: string, body: unknown, retryable: boolean): Promise<JsonResponse> {
        return requestJson({ service: "gateway", operation, method: "POST", url, body, retryable }, this.opts);
    }

    private fields(res: JsonResponse, operation: string): { service: "gateway"; operation: string; url: string; status: number } {
        return { service: "gateway", operation, url: res.url, status: res.status };
    }

    private error(res: JsonResponse, operation: string, kind: "http" | "malformed" | "rejected" | "failed", reason: string, fix: string): AiosError {
        return new AiosError({ ...this.fields(res, operation), kind, reason, fix });
    }
}

/** Decodes a dry-run answer (contract §4.4). */
function decisionOf(json: Record<string, unknown>): PolicyDecision {
    if (json.allowed === true) return { allowed: true };
    // The cluster policy's verdict is nested in cluster_response; its reason is what the policy
    // returned as input_data, i.e. node_data (add) or node_id (remove).
    const cluster = asObject(json.cluster_response);
    if (cluster && cluster.allowed === false) {
        return { allowed: false, scope: "cluster", reason: reasonText(cluster.node_data ?? cluster.node_id ?? cluster.reason ?? cluster.message) };
    }
    // A network denial puts the policy's input_data into `data` (contract §4.4).
    return { allowed: false, scope: "network", reason: reasonText(json.data ?? json.reason ?? json.message) };
}

/** A readable reason from what a policy returned: a string, `{reason: ...}`, or any JSON. */
export function reasonText(value: unknown): string {
    if (value === undefined || value === null || value === "") return "the policy gave no reason";
    if (typeof value === "string") return value;
    const o = asObject(value);
    if (o && "reason" in o) return reasonText(o.reason);
    if (o && typeof o.message === "string") return o.message;
    const json = JSON.stringify(value);
    return json.length > 300 ? `${json.slice(0, 300)}…` : json;
}

function joinFailureFix(error: string): string {
    // contract §2.3, §4.2: the membership server builds the command from these code-only fields.
    if (/cert hash/i.test(error)) return "set config.certHash (hex digits only) in the cluster document";
    if (/secondary IP/i.test(error)) return "add the customIp name to config.secondaryIPs in the cluster document, or drop customIp";
    if (/Local LAN/i.test(error)) return "set config.localNetworkHostName in the cluster document, or use mode public";
    return "check config.certHash, config.localNetworkHostName, config.publicHostname and config.secondaryIPs in the cluster document";
}

function policyErrorFix(error: string): string {
    // contract §5.1: policy map entries given as plain strings (the documented form) crash the gateway and membership server.
    if (error.includes("'str' object has no attribute 'get'")) {
        return 'a policy map entry is a plain string; write it as {"policyRuleURI": "<uri>", "parameters": {}}';
    }
    return "see the gateway's and membership server's logs";
}

function enc(segment: string): string {
    return encodeURIComponent(segment);
}
