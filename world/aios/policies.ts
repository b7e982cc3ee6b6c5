/**
 * The AIOS pre-check policy system as the gateway and the membership server use it (contract §5):
 * a policy map entry `{"policyRuleURI", "parameters"}` names a policy in the policy DB, whose
 * `eval` answers `{"allowed", "input_data"}`. The world's policy DB holds a few built-in
 * policies instead of downloaded code.
 */
import { PyError, isDict, pget, truthy, type PyDict } from "./py";

export const POLICY_DENY_NO_GPU = "policies.deny-no-gpu:1.0-stable";
export const POLICY_DENY = "aios-world.policies.deny:v1-stable";
export const POLICY_ALLOW = "aios-world.policies.allow:v1-stable";
export const POLICY_ECHO_INPUT = "aios-world.policies.echo-input:v1-stable";

type PolicyFn = (parameters: PyDict, input: PyDict) => PyDict;

/** The world's policy DB. */
const policyDb: Record<string, PolicyFn> = {
    /** The policy the vectors were recorded with: a node needs at least one GPU. */
    [POLICY_DENY_NO_GPU]: (_p, input) => {
        if (!("node_data" in input)) return { allowed: true, input_data: input.node_id };
        const node = input.node_data;
        const gpus = isDict(node) ? node.gpus : undefined;
        const count = isDict(gpus) && typeof gpus.count === "number" ? gpus.count : 0;
        if (count < 1) return { allowed: false, input_data: { reason: "node must have at least one GPU" } };
        return { allowed: true, input_data: node };
    },
    /** Always says no, with `parameters.reason`. */
    [POLICY_DENY]: (p) => ({ allowed: false, input_data: { reason: typeof p.reason === "string" ? p.reason : "denied by policy" } }),
    /** Always says yes and returns the node (or node id) unchanged. */
    [POLICY_ALLOW]: (_p, input) => ({ allowed: true, input_data: "node_data" in input ? input.node_data : input.node_id }),
    /** Says yes and returns its whole input, as the docs' sample policy does (breaks the join: `'id'`). */
    [POLICY_ECHO_INPUT]: (_p, input) => ({ allowed: true, input_data: input }),
};

export interface PolicyOutcome {
    allowed: boolean;
    /** `response.get('input_data', default)`. */
    updated: unknown;
}

export class PolicyEvaluator {
    private readonly fn: PolicyFn;

    constructor(readonly uri: string, private readonly parameters: PyDict) {
        const fn = policyDb[uri];
        if (!fn) throw new PyError("ValueError", `Policy rule with URI '${uri}' not found.`);
        this.fn = fn;
    }

    /** `execute_policy_rule(payload)` + the consumers' `.get('allowed', False)` / `.get('input_data', default)`. */
    evaluate(payload: PyDict, dflt: unknown): PolicyOutcome {
        const response = this.fn(this.parameters, payload);
        return { allowed: truthy(pget(response, "allowed", false)), updated: pget(response, "input_data", dflt) };
    }
}

/**
 * The evaluator a component builds from `actions.get(action)` of its policy map, or undefined when
 * the entry is absent or falsy (the pre-check is then skipped). A string entry fails like the
 * real code: `'str' object has no attribute 'get'`.
 */
export function evaluatorFor(actions: unknown, action: string): PolicyEvaluator | undefined {
    const entry = pget(actions, action);
    if (!truthy(entry)) return undefined;
    const uri = pget(entry, "policyRuleURI");
    if (!truthy(uri)) return undefined;
    const params = pget(entry, "parameters", {});
    return new PolicyEvaluator(String(uri), isDict(params) ? { ...params } : {});
}

/**
 * The control API's policy shorthands, as policy map entries (undefined = remove the entry):
 * `null`, `{"deny": "reason"}`, `"malformed"` (a plain URI string), `"echo-input"`,
 * `"deny-no-gpu"`, `"allow"`, a raw `{"policyRuleURI", ...}` object, or `{"entry": <anything>}`.
 */
export function policyEntryFromSpec(spec: unknown): unknown {
    if (spec === null || spec === undefined) return undefined;
    if (spec === "malformed") return POLICY_DENY;
    if (spec === "echo-input") return { policyRuleURI: POLICY_ECHO_INPUT, parameters: {} };
    if (spec === "deny-no-gpu") return { policyRuleURI: POLICY_DENY_NO_GPU, parameters: {} };
    if (spec === "allow") return { policyRuleURI: POLICY_ALLOW, parameters: {} };
    if (isDict(spec)) {
        if (typeof spec.deny === "string") return { policyRuleURI: POLICY_DENY, parameters: { reason: spec.deny } };
        if ("entry" in spec) return spec.entry;
        if (typeof spec.policyRuleURI === "string") return spec;
    }
    throw new Error(`unknown policy spec ${JSON.stringify(spec)}: use null, {"deny": "reason"}, "malformed", "echo-input", "deny-no-gpu", "allow", {"policyRuleURI": ...} or {"entry": ...}`);
}

/** The stub metrics services: the policies' `cluster_metrics` input (must be non-empty, or the pre-check fails). */
export function clusterMetricsStub(clusterId: string, clusterData: unknown): PyDict {
    const nodes = isDict(clusterData) && isDict(clusterData.nodes) ? clusterData.nodes : {};
    return { clusterId, nodeCount: typeof nodes.count === "number" ? nodes.count : 0, source: "aios-world metrics stub" };
}
