// world:up step: makes the fresh API server look like a kubeadm control plane
// as far as `kubeadm join` is concerned. Run by scripts/world.sh:
//   node -r ts-node/register/transpile-only world/kube/bootstrap.ts \
//     --kubeconfig <admin kubeconfig> --ca <ca.crt> --server <https://ip:6443> \
//     --token-file <file with id.secret> --version v1.36.3 --service-cidr <cidr>
import * as fs from "fs";
import { KubeClient, KubeObject } from "./client";

export const BOOTSTRAP_GROUP = "system:bootstrappers:kubeadm:default-node-token";

export interface BootstrapOptions {
    kubeconfig: string;
    caPath: string;
    server: string;
    token: string;
    version: string;
    serviceCidr: string;
}

/** The kubeconfig kubeadm publishes in kube-public/cluster-info. */
export function clusterInfoKubeconfig(caPem: string, server: string): string {
    return [
        "apiVersion: v1",
        "clusters:",
        "- cluster:",
        `    certificate-authority-data: ${Buffer.from(caPem).toString("base64")}`,
        `    server: ${server}`,
        '  name: ""',
        "contexts: null",
        'current-context: ""',
        "kind: Config",
        "preferences: {}",
        "users: null",
        "",
    ].join("\n");
}

export function bootstrapTokenSecret(token: string, description: string): KubeObject {
    const m = /^([a-z0-9]{6})\.([a-z0-9]{16})$/.exec(token);
    if (!m) {
        throw new Error("the bootstrap token is not of the form [a-z0-9]{6}.[a-z0-9]{16}");
    }
    return {
        apiVersion: "v1",
        kind: "Secret",
        type: "bootstrap.kubernetes.io/token",
        metadata: { name: `bootstrap-token-${m[1]}`, namespace: "kube-system" },
        stringData: {
            description,
            "token-id": m[1],
            "token-secret": m[2],
            "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true",
            "auth-extra-groups": BOOTSTRAP_GROUP,
        },
    };
}

export async function bootstrap(o: BootstrapOptions): Promise<void> {
    const k = KubeClient.fromKubeconfig(o.kubeconfig);
    await k.waitReady(120000);
    // kube-public and kube-node-lease are made by the API server itself, a moment after /readyz.
    for (let i = 0; i < 100 && !(await k.get("/api/v1/namespaces/kube-public")); i++) {
        await new Promise((r) => setTimeout(r, 200));
    }
    const caPem = fs.readFileSync(o.caPath, "utf8");
    const rbac = "/apis/rbac.authorization.k8s.io/v1";

    // 1. cluster-info, readable anonymously (kubeadm's bootstrap-signer-clusterinfo Role).
    await k.apply("/api/v1/namespaces/kube-public/configmaps", {
        apiVersion: "v1", kind: "ConfigMap",
        metadata: { name: "cluster-info", namespace: "kube-public" },
        data: { kubeconfig: clusterInfoKubeconfig(caPem, o.server) },
    });
    await k.apply(`${rbac}/namespaces/kube-public/roles`, {
        apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role",
        metadata: { name: "kubeadm:bootstrap-signer-clusterinfo", namespace: "kube-public" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["cluster-info"], verbs: ["get"] }],
    });
    await k.apply(`${rbac}/namespaces/kube-public/rolebindings`, {
        apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding",
        metadata: { name: "kubeadm:bootstrap-signer-clusterinfo", namespace: "kube-public" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "kubeadm:bootstrap-signer-clusterinfo" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "system:anonymous" }],
    });

    // 2. kubeadm-config and kubelet-config, readable by joining nodes (as kubeadm sets up).
    await k.apply("/api/v1/namespaces/kube-system/configmaps", {
        apiVersion: "v1", kind: "ConfigMap",
        metadata: { name: "kubeadm-config", namespace: "kube-system" },
        data: {
            ClusterConfiguration: [
                "apiVersion: kubeadm.k8s.io/v1beta4",
                "kind: ClusterConfiguration",
                "clusterName: kubernetes",
                `controlPlaneEndpoint: ${new URL(o.server).host}`,
                `kubernetesVersion: ${o.version}`,
                "networking:",
                "  dnsDomain: cluster.local",
                `  serviceSubnet: ${o.serviceCidr}`,
                "",
            ].join("\n"),
        },
    });
    await k.apply("/api/v1/namespaces/kube-system/configmaps", {
        apiVersion: "v1", kind: "ConfigMap",
        metadata: { name: "kubelet-config", namespace: "kube-system" },
        data: {
            kubelet: [
                "apiVersion: kubelet.config.k8s.io/v1beta1",
                "kind: KubeletConfiguration",
                "authentication:",
                "  anonymous:",
                "    enabled: false",
                "  webhook:",
                "    enabled: true",
                "  x509:",
                "    clientCAFile: /etc/kubernetes/pki/ca.crt",
                "authorization:",
                "  mode: Webhook",
                "cgroupDriver: systemd",
                "clusterDomain: cluster.local",
                "healthzBindAddress: 127.0.0.1",
                "healthzPort: 10248",
                "rotateCertificates: true",
                "staticPodPath: /etc/kubernetes/manifests",
                "",
            ].join("\n"),
        },
    });
    for (const [role, cm] of [["kubeadm:nodes-kubeadm-config", "kubeadm-config"], ["kubeadm:kubelet-config", "kubelet-config"]]) {
        await k.apply(`${rbac}/namespaces/kube-system/roles`, {
            apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role",
            metadata: { name: role, namespace: "kube-system" },
            rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: [cm], verbs: ["get"] }],
        });
        await k.apply(`${rbac}/namespaces/kube-system/rolebindings`, {
            apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding",
            metadata: { name: role, namespace: "kube-system" },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role },
            subjects: [
                { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: BOOTSTRAP_GROUP },
                { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" },
            ],
        });
    }
    // kubeadm's bindings for the kubelet's TLS bootstrap: a bootstrap token may ask for a node client
    // certificate, and the controller manager approves that request (and a node's renewal) by itself.
    for (const [name, role, group] of [
        ["kubeadm:kubelet-bootstrap", "system:node-bootstrapper", BOOTSTRAP_GROUP],
        ["kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", BOOTSTRAP_GROUP],
        ["kubeadm:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "system:nodes"],
    ]) {
        await k.apply(`${rbac}/clusterrolebindings`, {
            apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding",
            metadata: { name },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
            subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group }],
        });
    }

    // 3. The stand-in kubelet's rights on Nodes, their status and their Leases, for its client
    // certificate (system:nodes; the Node authorizer grants most of it too) and, while it joins, for
    // its bootstrap token.
    await k.apply(`${rbac}/clusterroles`, {
        apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole",
        metadata: { name: "aios-world:bootstrap-token-kubelet" },
        rules: [
            { apiGroups: [""], resources: ["nodes", "nodes/status"], verbs: ["get", "list", "watch", "create", "update", "patch"] },
            { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "list", "watch", "create", "update", "patch"] },
        ],
    });
    await k.apply(`${rbac}/clusterrolebindings`, {
        apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding",
        metadata: { name: "aios-world:bootstrap-token-kubelet" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "aios-world:bootstrap-token-kubelet" },
        subjects: [
            { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: BOOTSTRAP_GROUP },
            { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" },
        ],
    });

    // 4. The static bootstrap token behind the registry's joinCommand.
    await k.apply("/api/v1/namespaces/kube-system/secrets",
        bootstrapTokenSecret(o.token, "Static join token for the AIOS registry's joinCommand (local world)"));
}

function arg(argv: string[], name: string): string {
    const i = argv.indexOf(`--${name}`);
    if (i < 0 || i + 1 >= argv.length) {
        throw new Error(`missing --${name}`);
    }
    return argv[i + 1];
}

if (require.main === module) {
    const a = process.argv.slice(2);
    bootstrap({
        kubeconfig: arg(a, "kubeconfig"),
        caPath: arg(a, "ca"),
        server: arg(a, "server"),
        token: fs.readFileSync(arg(a, "token-file"), "utf8").trim(),
        version: arg(a, "version"),
        serviceCidr: arg(a, "service-cidr"),
    }).then(
        () => console.log("bootstrap objects applied"),
        (e: Error) => {
            console.error(`world bootstrap failed: ${e.message}`);
            process.exit(1);
        },
    );
}
