import * as pulumi from "@pulumi/pulumi";
import { kubernetesProvider } from "../labels/labels";
import { OnboardingProvider, PROVIDER_PACKAGE } from "../provider/provider";
import { parseStackConfig, ResolvedStackConfig } from "../config/stackConfig";
import { OnboardedNode } from "../onboardedNode/onboardedNode";
import { setOnboardingParallelism } from "../onboardedNode/slots";

/** The stack config of one cluster plus its two secrets. */
export interface ClusterStack {
    config: ResolvedStackConfig;
    kubeconfig: pulumi.Output<string>;
    sshPrivateKey: pulumi.Output<string>;
}

/** Reads and validates the stack config; throws one ConfigError naming every bad key. */
export function readClusterStack(): ClusterStack {
    const cfg = new pulumi.Config();
    const kubeconfig = cfg.getSecret("kubeconfig");
    const sshPrivateKey = cfg.getSecret("sshPrivateKey");
    const raw = (key: string): unknown => {
        const text = cfg.get(key);
        if (text === undefined) return undefined;
        try {
            return JSON.parse(text);
        } catch {
            return text;
        }
    };
    const config = parseStackConfig(
        {
            clusterId: cfg.get("clusterId"),
            registryUrl: cfg.get("registryUrl"),
            protocol: cfg.get("protocol"),
            gatewayUrl: cfg.get("gatewayUrl"),
            parserUrl: cfg.get("parserUrl"),
            customIp: cfg.get("customIp"),
            kubeadmVersion: cfg.get("kubeadmVersion"),
            joinToken: cfg.get("joinToken"),
            joinTokenMinutes: raw("joinTokenMinutes"),
            vpn: raw("vpn"),
            sshUser: cfg.get("sshUser"),
            sshPort: raw("sshPort"),
            parallelism: raw("parallelism"),
            timeouts: raw("timeouts"),
            machines: raw("machines"),
            hasKubeconfig: kubeconfig !== undefined,
            hasSshPrivateKey: sshPrivateKey !== undefined,
        },
        pulumi.getProject(),
        pulumi.getStack(),
    );
    return { config, kubeconfig: kubeconfig!, sshPrivateKey: sshPrivateKey! };
}

/**
 * One OnboardedNode per configured machine, named after its node id. They share one aios-onboarding
 * provider (`aios-onboarding`) and, when any machine declares labels or taints, one kubernetes provider
 * (`kubernetes`): a provider per node would be a plugin process per node.
 */
export function onboardCluster(stack: ClusterStack): Record<string, OnboardedNode> {
    const { config } = stack;
    const clamped = setOnboardingParallelism(config.parallelism);
    if (clamped) void pulumi.log.warn(clamped);
    const patchesNodes = config.machines.some((m) => Object.keys(m.labels ?? {}).length > 0 || (m.taints ?? []).length > 0);
    const kubernetes = patchesNodes ? kubernetesProvider("kubernetes", stack.kubeconfig, config.cluster.clusterId) : undefined;
    // One provider plugin process for every machine of the stack.
    const onboarding = new OnboardingProvider(PROVIDER_PACKAGE, { kubeconfig: stack.kubeconfig, privateKey: stack.sshPrivateKey });
    const nodes: Record<string, OnboardedNode> = {};
    for (const m of config.machines) {
        nodes[m.nodeId] = new OnboardedNode(m.nodeId, {
            cluster: { ...config.cluster, kubeconfig: stack.kubeconfig },
            nodeId: m.nodeId,
            host: m.host,
            hostKey: m.hostKey,
            port: m.port ?? config.sshPort,
            user: m.user ?? config.sshUser,
            privateKey: stack.sshPrivateKey,
            external: m.external,
            address: m.address,
            vpn: m.vpn,
            labels: m.labels,
            taints: m.taints,
            tags: m.tags,
            nodeMetadata: m.nodeMetadata,
            forceRemove: m.forceRemove,
            timeouts: { ...config.timeouts, ...(m.timeouts ?? {}) },
        }, { providers: kubernetes ? { kubernetes, [PROVIDER_PACKAGE]: onboarding } : { [PROVIDER_PACKAGE]: onboarding } });
    }
    return nodes;
}
