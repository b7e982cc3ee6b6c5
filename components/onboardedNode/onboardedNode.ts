import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { buildInventory, NO_FACTS, NodeInventory } from "../machine/inventory";
import { CheckResult, CheckSettings, evaluatePrechecks, failureMessage } from "../prechecks/checks";
import { currentObserver } from "../prechecks/observe";
import { Prechecks } from "../prechecks/prechecks";
import { PRECHECKS_TYPE } from "../prechecks/prechecksResource";
import { OnboardingProvider } from "../provider/provider";
import { joinScript } from "../join/scripts";
import { declaredLabelsPatch, kubernetesProvider, NODE_PATCH_TOKEN } from "../labels/labels";
import { keepSecretsOutOfDebugLog } from "../sdk/debugLog";
import type { SshTargetInputs } from "../machine/ssh";
import { Registration } from "../registration/registration";
import { REGISTRATION_TYPE } from "../registration/registrationResource";
import { Verification } from "../verify/verification";
import { VERIFICATION_TYPE } from "../verify/verificationResource";
import type { OnboardedNodeArgs } from "./args";
import { PrecheckError } from "./errors";
import { parseNodeArgs } from "./settings";
import { OnboardingSlot } from "./slots";
import { after, settleQuietly, StepRef } from "./steps";
import { ONBOARDED_NODE_TYPE } from "./typeToken";

keepSecretsOutOfDebugLog();

/** Warnings told in this run: a stack's machines share the cluster's join command, so one warning serves them all. */
const warned = new Set<string>();
function warnOnce(message: string, resource: pulumi.Resource): void {
    if (warned.has(message)) return;
    warned.add(message);
    void pulumi.log.warn(message, resource);
}

/**
 * OnboardedNode is a component that joins an existing machine to an AIOS Kubernetes cluster
 * and proves the AIOS Cluster Controller accepted it. Its children, in order:
 * `${name}-prechecks` (the table of read-only checks, evaluated at preview), `${name}-registration`
 * (AIOS add_node; its delete resets the machine) and `${name}-verify` (Node Ready and labelled
 * `nodeID` by the controller; its delete drains and deregisters), resources of the aios-onboarding
 * provider plugin through the provider in `opts.providers`, else its own `${name}-provider` (which
 * holds the kubeconfig); `${name}-join` (`kubeadm join` over SSH) and, when labels or taints are declared,
 * `${name}-labels` (a `kubernetes:core/v1:NodePatch`, through the kubernetes provider passed in
 * `opts.providers`, else its own `${name}-kubernetes`). Deleting it offboards the machine in reverse order.
 */
export class OnboardedNode extends pulumi.ComponentResource {
    /** The Kubernetes node name (= the AIOS node id). */
    public readonly nodeName: pulumi.Output<string>;
    /** The Node's labels when it was verified, `nodeID` included. */
    public readonly labels: pulumi.Output<Record<string, string>>;
    /** The kubelet version the Node reports. */
    public readonly kubeletVersion: pulumi.Output<string>;
    /** The Node's addresses. */
    public readonly addresses: pulumi.Output<{ type: string; address: string }[]>;
    /** What each precheck expected and found. */
    public readonly prechecks: pulumi.Output<CheckResult[]>;
    /** True once every precheck passed; fails with the machine's precheck failures otherwise. */
    public readonly prechecksPassed: pulumi.Output<boolean>;

    /**
     * @param name The unique name of this component; children are named `${name}-<role>`.
     * @param args The cluster, the machine and its SSH access; see {@link OnboardedNodeArgs}.
     * @param opts Options for the component; providers and `protect` reach the children.
     */
    constructor(name: string, args: OnboardedNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        // Nothing is passed to super: secrets must not reach the component's state.
        super(ONBOARDED_NODE_TYPE, name, {}, opts);
        const s = parseNodeArgs(name, args);
        const { cluster, machine, timeouts } = s;
        const privateKey = pulumi.secret(args.privateKey);
        const kubeconfig = pulumi.secret(args.cluster.kubeconfig);
        const vpn = machine.vpn === false ? undefined : cluster.vpn;
        const mode = machine.external ? "public" : "local_network";
        const checkSettings: CheckSettings = {
            nodeId: machine.nodeId,
            clusterId: cluster.clusterId,
            registryUrl: cluster.registryUrl,
            protocol: cluster.protocol,
            external: machine.external,
            host: machine.host,
            address: machine.address,
            vpn,
            kubeadmVersion: cluster.kubeadmVersion,
            forceRemove: machine.forceRemove,
            joinToken: cluster.joinToken ?? "registry",
            joinTokenMinutes: cluster.joinTokenMinutes,
        };
        const target = { host: machine.host, port: s.port, user: s.user, hostKey: machine.hostKey, connectTimeoutSeconds: timeouts.sshConnectSeconds };

        // 1. Prechecks: read-only observation, at preview and at update alike. A machine the cluster already
        //    shows onboarded is not probed; its inventory is then the node document AIOS holds for it.
        const observe = currentObserver();
        const observation = pulumi.all([privateKey, kubeconfig]).apply(([key, kc]) =>
            observe({
                nodeId: machine.nodeId,
                clusterId: cluster.clusterId,
                registryUrl: cluster.registryUrl,
                httpTimeoutSeconds: timeouts.httpSeconds,
                kubeconfig: kc,
                ssh: { ...target, privateKey: key },
                address: machine.address,
                readsStaticToken: cluster.protocol === "parser" && cluster.joinToken !== "mint",
            }),
        );
        const results = pulumi.unsecret(observation.apply((obs) => evaluatePrechecks(checkSettings, obs)));
        // Resources of the aios-onboarding provider plugin go through an explicit provider (see OnboardingProvider).
        const onboardingProvider = this.getProvider(PRECHECKS_TYPE) ?? new OnboardingProvider(`${name}-provider`, { kubeconfig, privateKey }, { parent: this });
        const prechecks = new Prechecks(`${name}-prechecks`, { nodeId: machine.nodeId, checks: results }, { parent: this, provider: onboardingProvider });
        results.apply((rs) => rs.filter((r) => r.status === "warning").forEach((r) => warnOnce(`${r.check} precheck: ${r.observed}${r.fix ? `; ${r.fix}` : ""}`, this)));
        const passed = results.apply((rs) => {
            const message = failureMessage(machine.nodeId, machine.host, rs);
            if (message) throw new PrecheckError(message, this);
            return true;
        });
        // The registration, join and verification take one of the stack's `parallelism` slots:
        // the registration's inputs wait for it, and verification settling gives it back.
        const slot = new OnboardingSlot();
        const inventory: pulumi.Output<NodeInventory> = slot.gate(
            pulumi.unsecret(
                pulumi.all([observation, passed]).apply(([obs]) => obs.onboarded?.entry ?? buildInventory(machine.nodeId, obs.facts ?? NO_FACTS, machine.tags, machine.nodeMetadata)),
            ),
        );
        const aios = {
            protocol: cluster.protocol,
            clusterId: cluster.clusterId,
            registryUrl: cluster.registryUrl,
            gatewayUrl: cluster.gatewayUrl,
            mode,
            customIp: cluster.customIp,
            httpTimeoutSeconds: timeouts.httpSeconds,
            joinToken: cluster.joinToken ?? "registry",
            joinTokenMinutes: cluster.joinTokenMinutes,
        } as const;
        // The key as a field of its own: the rest of the target stays plain in the state, and the
        // provider leaves the key out when it is its own (see OnboardingProvider).
        const ssh: SshTargetInputs = { ...target, privateKey };
        // The machine's steps by the names the engine knows them: a step after one that failed depends on it by URN (see `after`).
        const registered: StepRef = { name: `${name}-registration`, type: REGISTRATION_TYPE, parent: this };
        const joined: StepRef = { name: `${name}-join`, type: "command:remote:Command", parent: this };
        const verified: StepRef = { name: `${name}-verify`, type: VERIFICATION_TYPE, parent: this };

        // 2. Registration with AIOS (runs the add_node policies); its delete is the last
        //    offboarding step: `kubeadm reset -f` on the machine, then drop any registry entry
        //    left and delete the Node object.
        const registration = new Registration(
            registered.name,
            { ...aios, parserUrl: cluster.parserUrl, forceRemove: machine.forceRemove, node: inventory, ssh },
            { parent: this, provider: onboardingProvider, dependsOn: [prechecks], deleteBeforeReplace: true },
        );

        // 3. The join (it has no delete: the registration's delete resets the machine, so the
        //    reset script is not stored twice in every machine's state). Its stdin (the join command, with the token) is secret and ignored
        //    after creation, so a rotated token never causes a re-join; only the machine's
        //    identity is a trigger. Ordered after the registration by that input (see `after`).
        const join = new command.remote.Command(
            joined.name,
            {
                connection: {
                    host: machine.host,
                    port: s.port,
                    user: s.user,
                    privateKey,
                    hostKey: machine.hostKey.trim().split(/\s+/).slice(0, 2).join(" "),
                    dialErrorLimit: 3,
                    perDialTimeout: timeouts.sshConnectSeconds,
                },
                // One script: with no `update`, pulumi-command runs `create` on an update, and the join is
                // idempotent (a machine joined as this node exits 0). A second copy would double its state.
                create: joinScript({ clusterId: cluster.clusterId, nodeId: machine.nodeId, joinTimeoutSeconds: timeouts.joinSeconds, protocol: cluster.protocol }),
                stdin: pulumi.secret(after(registered, registration.joinConfiguration)),
                triggers: [cluster.clusterId, machine.nodeId, machine.host, s.port],
                // `logging` unset: pulumi-command then logs stdout and stderr, and the state stores no default.
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                ignoreChanges: ["stdin"],
                additionalSecretOutputs: ["stdout", "stderr"],
                deleteBeforeReplace: true,
                customTimeouts: { create: `${timeouts.joinSeconds + 120}s`, update: `${timeouts.joinSeconds + 120}s`, delete: "300s" },
            },
        );

        // 4. Verification; its delete is the first offboarding step: cordon, drain, deregister.
        const verify = new Verification(
            verified.name,
            {
                ...aios,
                parserUrl: cluster.parserUrl,
                verifySeconds: timeouts.verifySeconds,
                joinSeconds: timeouts.joinSeconds,
                drainSeconds: timeouts.drainSeconds,
                forceRemove: machine.forceRemove,
                node: inventory,
                registeredAt: after(registered, registration.registeredAt),
                // Also what orders the verification after the join.
                joinId: after(joined, join.id),
                tokenId: after(registered, registration.tokenId),
                ssh,
            },
            { parent: this, provider: onboardingProvider, deleteBeforeReplace: true },
        );
        for (const step of [registration, join, verify]) settleQuietly(step);
        slot.releaseWhen(verify.id);

        // 5. Declared labels and taints: a NodePatch after verification (removed on delete), through
        //    the kubernetes provider passed down to this component, else one of its own.
        if (Object.keys(machine.labels).length > 0 || machine.taints.length > 0) {
            const provider = this.getProvider(NODE_PATCH_TOKEN) ?? kubernetesProvider(`${name}-kubernetes`, kubeconfig, cluster.clusterId, { parent: this });
            const verifiedNode = after(verified, verify.nodeUid);
            const patch = declaredLabelsPatch(
                `${name}-labels`,
                { nodeId: machine.nodeId, labels: machine.labels, taints: machine.taints, verifiedNode },
                { parent: this, provider, deleteBeforeReplace: true },
            );
            settleQuietly(patch);
        }

        this.nodeName = verify.nodeName;
        this.labels = verify.labels;
        this.kubeletVersion = verify.kubeletVersion;
        this.addresses = verify.addresses;
        this.prechecks = results;
        this.prechecksPassed = passed;
        // Nothing is recorded in the component's own state: the verification's state holds the Node as
        // verified, and a copy here would be rewritten with every checkpoint of a large stack.
        this.registerOutputs({});
    }
}
