import * as assert from "node:assert/strict";
import { ConfigError } from "../../../components/config/errors";
import { parseStackConfig, RawStackConfig } from "../../../components/config/stackConfig";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMx2KjnQ3i4Sr7mE3z0Gv3gpQH6wL8Lx0cC8i0Y1b0k1";

function valid(): RawStackConfig {
    return {
        clusterId: "aios-demo",
        registryUrl: "http://127.0.0.1:30101",
        protocol: "gateway",
        gatewayUrl: "http://127.0.0.1:30600",
        machines: [{ nodeId: "worker-1", host: "10.213.1.1", hostKey: HOST_KEY }],
        hasKubeconfig: true,
        hasSshPrivateKey: true,
    };
}

function problemsOf(raw: RawStackConfig): { path: string; problem: string; fix: string }[] {
    try {
        parseStackConfig(raw, "aios-onboarding", "demo");
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
        return e.problems;
    }
    assert.fail("the config was accepted");
}

const machine = (over: Record<string, unknown>) => [{ nodeId: "worker-1", host: "10.213.1.1", hostKey: HOST_KEY, ...over }];

// [what is wrong, the override, the reported path, a pattern of the problem]
const cases: [string, Partial<RawStackConfig>, string, RegExp][] = [
    ["clusterId is missing", { clusterId: undefined }, "aios-onboarding:clusterId", /is required but missing/],
    ["clusterId has a slash", { clusterId: "a/b" }, "aios-onboarding:clusterId", /"a\/b" is not a cluster id/],
    ["registryUrl is missing", { registryUrl: undefined }, "aios-onboarding:registryUrl", /is required but missing/],
    ["registryUrl is not a URL", { registryUrl: "registry:30101" }, "aios-onboarding:registryUrl", /is not an http\(s\) URL/],
    ["registryUrl carries credentials", { registryUrl: "http://u:p@registry" }, "aios-onboarding:registryUrl", /without credentials/],
    ["protocol is unknown", { protocol: "grpc" }, "aios-onboarding:protocol", /"grpc"/],
    ["gatewayUrl is missing for gateway", { gatewayUrl: undefined }, "aios-onboarding:gatewayUrl", /is required when protocol is "gateway"/],
    ["parserUrl is missing for parser", { protocol: "parser" }, "aios-onboarding:parserUrl", /is required when protocol is "parser"/],
    ["parserUrl is not a URL", { protocol: "parser", parserUrl: "ftp://x" }, "aios-onboarding:parserUrl", /is not an http\(s\) URL/],
    ["customIp has spaces", { customIp: "wg 0" }, "aios-onboarding:customIp", /"wg 0"/],
    ["vpn is a string", { vpn: "wg0" }, "aios-onboarding:vpn", /"wg0"/],
    ["vpn.interface is too long", { vpn: { interface: "a-very-long-interface" } }, "aios-onboarding:vpn.interface", /is not a network interface name/],
    ["vpn.cidr is not a CIDR", { vpn: { interface: "wg0", cidr: "10.8.0.0" } }, "aios-onboarding:vpn.cidr", /is not a CIDR/],
    ["vpn has an unknown key", { vpn: { interface: "wg0", cdir: "x" } }, "aios-onboarding:vpn", /unknown key "cdir"/],
    ["kubeadmVersion is not a version", { kubeadmVersion: "latest" }, "aios-onboarding:kubeadmVersion", /is not a version/],
    ["joinToken is set for the gateway protocol", { joinToken: "mint" }, "aios-onboarding:joinToken", /applies to the parser protocol only/],
    ["joinToken is unknown", { protocol: "parser", parserUrl: "http://p", joinToken: "static" }, "aios-onboarding:joinToken", /"static"/],
    ["joinTokenMinutes is beyond 15", { protocol: "parser", parserUrl: "http://p", joinToken: "mint", joinTokenMinutes: 60 }, "aios-onboarding:joinTokenMinutes", /number 60/],
    ["sshUser has shell syntax", { sshUser: "root;id" }, "aios-onboarding:sshUser", /is not a POSIX user name/],
    ["sshPort is out of range", { sshPort: 0 }, "aios-onboarding:sshPort", /number 0/],
    ["parallelism is a fraction", { parallelism: 1.5 }, "aios-onboarding:parallelism", /number 1\.5/],
    ["parallelism is too large", { parallelism: 1000 }, "aios-onboarding:parallelism", /number 1000/],
    ["timeouts.joinSeconds is too small", { timeouts: { joinSeconds: 1 } }, "aios-onboarding:timeouts.joinSeconds", /number 1/],
    ["timeouts.verifySeconds is a string", { timeouts: { verifySeconds: "60" } }, "aios-onboarding:timeouts.verifySeconds", /"60"/],
    ["timeouts has an unknown key", { timeouts: { joinSecs: 10 } }, "aios-onboarding:timeouts", /unknown key "joinSecs"/],
    ["machines is not a list", { machines: { nodeId: "x" } }, "aios-onboarding:machines", /an object/],
    ["a machine lacks nodeId", { machines: [{ host: "10.0.0.1", hostKey: HOST_KEY }] }, "aios-onboarding:machines[0].nodeId", /is required but missing/],
    ["nodeId has uppercase", { machines: machine({ nodeId: "Worker-1" }) }, "aios-onboarding:machines[0].nodeId", /"Worker-1" is not a lowercase DNS-1123 name/],
    ["nodeId has shell metacharacters", { machines: machine({ nodeId: "w1;reboot" }) }, "aios-onboarding:machines[0].nodeId", /"w1;reboot" is not a lowercase DNS-1123 name/],
    ["nodeId is too long", { machines: machine({ nodeId: "a".repeat(254) }) }, "aios-onboarding:machines[0].nodeId", /at most 253/],
    ["host has shell metacharacters", { machines: machine({ host: "$(reboot)" }) }, "aios-onboarding:machines[0].host", /is not an IP address or DNS host name/],
    ["host includes a user", { machines: machine({ host: "root@10.0.0.1" }) }, "aios-onboarding:machines[0].host", /is not an IP address or DNS host name/],
    ["hostKey is missing", { machines: [{ nodeId: "w", host: "10.0.0.1" }] }, "aios-onboarding:machines[0].hostKey", /is required but missing/],
    ["hostKey is a fingerprint", { machines: machine({ hostKey: "SHA256:abc" }) }, "aios-onboarding:machines[0].hostKey", /is not a public host key/],
    ["port is a string", { machines: machine({ port: "22" }) }, "aios-onboarding:machines[0].port", /"22"/],
    ["user has a space", { machines: machine({ user: "a b" }) }, "aios-onboarding:machines[0].user", /is not a POSIX user name/],
    ["external is a string", { machines: machine({ external: "yes" }) }, "aios-onboarding:machines[0].external", /"yes"/],
    ["address is a host name", { machines: machine({ address: "node.example.com" }) }, "aios-onboarding:machines[0].address", /is not an IPv4 or IPv6 address/],
    ["vpn is a string", { machines: machine({ vpn: "wg0" }) }, "aios-onboarding:machines[0].vpn", /"wg0"/],
    ["labels set nodeID", { machines: machine({ labels: { nodeID: "x" } }) }, "aios-onboarding:machines[0].labels.nodeID", /set by the AIOS Cluster Controller/],
    ["a label key is invalid", { machines: machine({ labels: { "bad key": "v" } }) }, "aios-onboarding:machines[0].labels.bad key", /not a valid Kubernetes label name/],
    ["a label value is invalid", { machines: machine({ labels: { rack: "r 2" } }) }, "aios-onboarding:machines[0].labels.rack", /is not a valid Kubernetes label value/],
    ["a taint has a bad effect", { machines: machine({ taints: [{ key: "gpu", effect: "Never" }] }) }, "aios-onboarding:machines[0].taints[0].effect", /"Never"/],
    ["tags is a string", { machines: machine({ tags: "gpu" }) }, "aios-onboarding:machines[0].tags", /"gpu"/],
    ["nodeMetadata is a list", { machines: machine({ nodeMetadata: [] }) }, "aios-onboarding:machines[0].nodeMetadata", /an array of 0/],
    ["forceRemove is a string", { machines: machine({ forceRemove: "true" }) }, "aios-onboarding:machines[0].forceRemove", /"true"/],
    ["a machine timeout is negative", { machines: machine({ timeouts: { drainSeconds: -1 } }) }, "aios-onboarding:machines[0].timeouts.drainSeconds", /number -1/],
    ["a machine has an unknown key", { machines: machine({ ip: "10.0.0.1" }) }, "aios-onboarding:machines[0]", /unknown key "ip"/],
    ["two machines share a node id", { machines: [...machine({}), ...machine({ host: "10.213.1.2" })] }, "aios-onboarding:machines[1].nodeId", /"worker-1" is also machines\[0\]\.nodeId/],
    ["two machines share an address", { machines: [...machine({}), ...machine({ nodeId: "worker-2" })] }, "aios-onboarding:machines[1].host", /"10\.213\.1\.1:22" is also machines\[0\]'s SSH address/],
    ["the kubeconfig secret is missing", { hasKubeconfig: false }, "aios-onboarding:kubeconfig", /must be a secret/],
    ["the SSH key secret is missing", { hasSshPrivateKey: false }, "aios-onboarding:sshPrivateKey", /must be a secret/],
];

describe("stack config validation", () => {
    it("accepts a valid config and applies the defaults", () => {
        const cfg = parseStackConfig(valid(), "aios-onboarding", "demo");
        assert.equal(cfg.sshUser, "root");
        assert.equal(cfg.sshPort, 22);
        assert.equal(cfg.parallelism, 4);
        assert.deepEqual(cfg.timeouts, { sshConnectSeconds: 10, httpSeconds: 10, joinSeconds: 300, verifySeconds: 360, drainSeconds: 120 });
        assert.equal(cfg.machines[0].external, false);
        assert.deepEqual(cfg.machines[0].labels, {});
        assert.equal(cfg.cluster.joinToken, undefined);
        assert.equal(cfg.cluster.joinTokenMinutes, 15);
    });

    for (const [what, over, path, pattern] of cases) {
        it(`fails when ${what}, naming ${path}`, () => {
            const problems = problemsOf({ ...valid(), ...over });
            const hit = problems.find((p) => p.path === path);
            assert.ok(hit, `no problem at ${path}; got ${JSON.stringify(problems.map((p) => p.path))}`);
            assert.match(hit!.problem, pattern);
            assert.ok(hit!.fix.length > 10 && hit!.fix !== "see README: stack config", `no specific fix for ${path}: ${hit!.fix}`);
        });
    }

    it("lists every problem in one error when every field is wrong", () => {
        const raw: RawStackConfig = {
            clusterId: "",
            registryUrl: "nope",
            protocol: "x",
            sshUser: "1",
            sshPort: -1,
            parallelism: 0,
            timeouts: { joinSeconds: 0 },
            machines: [{ nodeId: "A", host: "a b", hostKey: "k", port: 0, external: 1, labels: { nodeID: "A" } }],
            hasKubeconfig: false,
            hasSshPrivateKey: false,
        };
        try {
            parseStackConfig(raw, "aios-onboarding", "demo");
            assert.fail("accepted");
        } catch (e) {
            const err = e as ConfigError;
            assert.ok(err.problems.length >= 12, `only ${err.problems.length} problems`);
            assert.match(err.message, /^invalid stack config for stack "demo": \d+ problems\n  - aios-onboarding:/);
            for (const p of err.problems) assert.match(err.message, new RegExp(p.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
        }
    });
});
