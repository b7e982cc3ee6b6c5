/**
 * One AIOS world: the cluster registry, the parser, the gateway and the membership server, each on
 * its own port, plus the control API for tests and fault injection. `startAiosWorld` is what
 * `main.ts` runs and what the tests start in-process (ports 0 = ephemeral).
 *
 * Seed documents may contain the placeholders `{registry}`, `{parser}`, `{gateway}` and
 * `{membership}` (as the recorded vectors do); they are replaced by `<listen>:<port>` once the
 * listeners are bound.
 */
import { type Faults, type FaultsPatch, type WaiterRecord, type WorldConfig, type WorldConfigInput, defaultFaults, faultsPatchSchema, worldConfigSchema } from "./config";
import type { Ctx } from "./context";
import { gatewayRouter } from "./gateway";
import { Listener, Router, expressJson, flaskDispatch, type Req, type Res } from "./http";
import { KubeClient } from "./kube";
import { membershipRouter, membershipStartup } from "./membership";
import { type Doc, clone } from "./mongo";
import { parserRouter } from "./parser";
import { policyEntryFromSpec } from "./policies";
import { ClusterStore, registryDispatch, registryRouter } from "./registry";

export type ServiceName = "registry" | "parser" | "gateway" | "membership" | "control";

export interface WorldPorts {
    registry: number;
    parser: number;
    gateway: number;
    membership: number;
    control: number;
}

export interface WorldState {
    ports: WorldPorts;
    clusters: Doc[];
    policies: { network: unknown; clusters: Record<string, unknown> };
    waiters: WaiterRecord[];
    counters: Record<string, number>;
    faults: Faults;
}

export interface AiosWorld {
    ports: WorldPorts;
    config: WorldConfig;
    state(): WorldState;
    /** Applies a `POST /_world/faults` body. */
    setFaults(patch: unknown): Promise<void>;
    /** `POST /_world/reset`. */
    reset(): Promise<void>;
    /** Re-runs the membership server's start-up (a restart: waiters are lost, nodes relabelled, registry re-synced). */
    restartMembership(): Promise<void>;
    stop(): Promise<void>;
    /** Resolves when `POST /_world/stop` asked the world to stop (main.ts then exits). */
    stopRequested: Promise<void>;
}

export interface StartOptions {
    /** Where log lines go; default stderr. */
    log?: (line: string) => void;
}

function substitute(v: unknown, map: Record<string, string>): unknown {
    if (typeof v === "string") return v.replace(/\{(registry|parser|gateway|membership)\}/g, (m, k: string) => map[k] ?? m);
    if (Array.isArray(v)) return v.map((x) => substitute(x, map));
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, map)]));
    return v;
}

function isObj(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function jsonBody(req: Req): unknown {
    const text = req.raw.toString("utf8").trim();
    return text === "" ? {} : (JSON.parse(text) as unknown);
}

export async function startAiosWorld(input: WorldConfigInput, opts: StartOptions = {}): Promise<AiosWorld> {
    const cfg = worldConfigSchema.parse(input);
    const logLine = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
    const log = (svc: string, msg: string) => logLine(`[aios-world] ${svc}: ${msg}`);
    const store = new ClusterStore(cfg.stateFile);
    const counters = new Map<string, number>();
    const sleepers = new Set<{ timer: NodeJS.Timeout; resolve: (v: boolean) => void }>();
    let stopped = false;
    let requestStop: () => void = () => undefined;
    const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));

    const wakeSleepers = () => {
        for (const s of sleepers) {
            clearTimeout(s.timer);
            s.resolve(false);
        }
        sleepers.clear();
    };

    const listeners = {} as Record<ServiceName, Listener>;
    const hostPort = (name: ServiceName) => `${cfg.listen}:${listeners[name].port}`;

    const ctx: Ctx = {
        cfg,
        faults: defaultFaults(cfg),
        network: { map: {} },
        registryUrl: () => `http://${hostPort("registry")}`,
        gatewayUrl: () => `http://${hostPort("gateway")}`,
        kube: cfg.kubeconfig ? KubeClient.fromFile(cfg.kubeconfig) : undefined,
        waiters: [],
        membershipDefaultCluster: () => cfg.membershipClusterId ?? (typeof cfg.seedClusters[0]?.id === "string" ? cfg.seedClusters[0].id : undefined),
        log,
        generation: 0,
        sleep: (ms, generation) =>
            new Promise<boolean>((resolve) => {
                if (stopped || ctx.generation !== generation) return resolve(false);
                const entry = {
                    timer: setTimeout(() => {
                        sleepers.delete(entry);
                        resolve(!stopped && ctx.generation === generation);
                    }, ms),
                    resolve,
                };
                sleepers.add(entry);
            }),
    };

    const count = (svc: ServiceName, req: Req, route: string) => {
        const key = `${svc} ${req.method} ${route}`;
        counters.set(key, (counters.get(key) ?? 0) + 1);
    };
    const logRequest = (svc: ServiceName, req: Req, res: Res) => log(svc, `${req.method} ${req.path} -> ${res.status}`);

    const flaskService = (svc: ServiceName, router: Router) => async (req: Req): Promise<Res> => {
        const m = router.match(req.method, req.path);
        count(svc, req, m.route ? m.route.name : "(unmatched)");
        const res = await flaskDispatch(router, req);
        logRequest(svc, req, res);
        return res;
    };

    const regRouter = registryRouter(store, () => ctx.faults.registry);
    const registryHandler = async (req: Req): Promise<Res> => {
        const f = ctx.faults.registry;
        if (f.mode === "slow") await new Promise((r) => setTimeout(r, f.delayMs || 3000));
        const { res, route } = await registryDispatch(regRouter, req);
        count("registry", req, route);
        logRequest("registry", req, res);
        return res;
    };

    const holder: { world?: AiosWorld } = {};
    const w = (): AiosWorld => {
        if (!holder.world) throw new Error("the world is still starting");
        return holder.world;
    };
    const controlRouter = new Router();
    const ok = (body: unknown) => expressJson(body);
    controlRouter.add("GET", "/_world/state", () => ok(w().state()));
    controlRouter.add("POST", "/_world/faults", async (req) => {
        await w().setFaults(jsonBody(req));
        const s = w().state();
        return ok({ faults: s.faults, policies: s.policies });
    });
    controlRouter.add("POST", "/_world/reset", async () => {
        await w().reset();
        return ok({ reset: true });
    });
    controlRouter.add("POST", "/_world/membership/restart", async () => {
        await w().restartMembership();
        return ok({ restarted: true });
    });
    controlRouter.add("POST", "/_world/stop", () => {
        setImmediate(requestStop);
        return ok({ stopping: true });
    });
    const controlHandler = async (req: Req): Promise<Res> => {
        const m = controlRouter.match(req.method, req.path);
        if (!m.route) return expressJson({ error: `no control route ${req.method} ${req.path}` }, 404);
        try {
            return await m.route.handler(req, m.params);
        } catch (e) {
            return expressJson({ error: (e as Error).message }, 400);
        }
    };

    listeners.registry = new Listener("registry", cfg.listen, cfg.ports.registry, registryHandler);
    listeners.parser = new Listener("parser", cfg.listen, cfg.ports.parser, flaskService("parser", parserRouter(ctx)));
    listeners.gateway = new Listener("gateway", cfg.listen, cfg.ports.gateway, flaskService("gateway", gatewayRouter(ctx)));
    listeners.membership = new Listener("membership", cfg.listen, cfg.ports.membership, flaskService("membership", membershipRouter(ctx)));
    listeners.control = new Listener("control", cfg.listen, cfg.ports.control, controlHandler);

    const opened: Listener[] = [];
    try {
        for (const l of Object.values(listeners)) {
            await l.open();
            opened.push(l);
        }
    } catch (e) {
        for (const l of opened) await l.close();
        throw e;
    }
    const ports: WorldPorts = {
        registry: listeners.registry.port,
        parser: listeners.parser.port,
        gateway: listeners.gateway.port,
        membership: listeners.membership.port,
        control: listeners.control.port,
    };
    const placeholders = { registry: hostPort("registry"), parser: hostPort("parser"), gateway: hostPort("gateway"), membership: hostPort("membership") };
    const seed = substitute(cfg.seedClusters, placeholders) as unknown[];
    const { loadedFromStateFile } = store.init(seed);
    log("world", loadedFromStateFile ? `registry state loaded from ${cfg.stateFile}` : `registry seeded with ${seed.length} cluster(s)`);

    const runStartup = cfg.membershipStartup === true;

    const world: AiosWorld = {
        ports,
        config: cfg,
        state(): WorldState {
            const clusters = store.all();
            const policies: Record<string, unknown> = {};
            for (const c of clusters) {
                const config = isObj(c.config) ? c.config : {};
                policies[String(c.id)] = clone(config.actionsPolicyMap ?? {});
            }
            return {
                ports,
                clusters,
                policies: { network: clone(ctx.network.map), clusters: policies },
                waiters: clone(ctx.waiters),
                counters: Object.fromEntries(counters),
                faults: clone(ctx.faults),
            };
        },
        async setFaults(raw: unknown) {
            const patch: FaultsPatch = faultsPatchSchema.parse(raw);
            if (patch.registry) {
                ctx.faults.registry = { mode: patch.registry.mode, delayMs: patch.registry.delayMs ?? ctx.faults.registry.delayMs };
                if (patch.registry.mode === "down") await listeners.registry.close();
                else await listeners.registry.open();
            }
            if (patch.parser) ctx.faults.parser = { addNode: patch.parser.addNode };
            if (patch.controller) {
                if (patch.controller.labelling) ctx.faults.controller.labelling = patch.controller.labelling;
                if (patch.controller.windowSeconds === null) delete ctx.faults.controller.windowSeconds;
                else if (patch.controller.windowSeconds !== undefined) ctx.faults.controller.windowSeconds = patch.controller.windowSeconds;
            }
            for (const [scope, actions] of Object.entries(patch.policies ?? {})) {
                const entries = Object.entries(actions).map(([action, spec]) => [action, policyEntryFromSpec(spec)] as const);
                if (scope === "network") {
                    const map = isObj(ctx.network.map) ? { ...ctx.network.map } : {};
                    for (const [action, entry] of entries) {
                        if (entry === undefined) delete map[action];
                        else map[action] = entry;
                    }
                    ctx.network.map = map;
                } else if (scope.startsWith("cluster:")) {
                    const id = scope.slice("cluster:".length);
                    const found = store.mutate(id, (doc) => {
                        const config = isObj(doc.config) ? doc.config : (doc.config = {});
                        const map = isObj(config.actionsPolicyMap) ? config.actionsPolicyMap : (config.actionsPolicyMap = {});
                        for (const [action, entry] of entries) {
                            if (entry === undefined) delete map[action];
                            else map[action] = entry;
                        }
                    });
                    if (!found) throw new Error(`no cluster ${id} in the registry`);
                } else {
                    throw new Error(`unknown policy scope ${scope}: use "network" or "cluster:<id>"`);
                }
            }
            log("control", `faults now ${JSON.stringify(ctx.faults)}; network policies ${JSON.stringify(ctx.network.map)}`);
        },
        async reset() {
            ctx.generation++;
            wakeSleepers();
            ctx.waiters.length = 0;
            counters.clear();
            ctx.faults = defaultFaults(cfg);
            ctx.network.map = {};
            await listeners.registry.open();
            store.reset();
            log("control", "world reset to the seed");
        },
        async restartMembership() {
            ctx.generation++;
            wakeSleepers();
            for (const w of ctx.waiters) if (w.state === "waiting") w.state = "cancelled";
            await membershipStartup(ctx);
        },
        async stop() {
            if (stopped) return;
            stopped = true;
            ctx.generation++;
            wakeSleepers();
            for (const l of Object.values(listeners)) await l.close();
            log("world", "stopped");
        },
        stopRequested,
    };

    holder.world = world;
    if (runStartup) await membershipStartup(ctx);
    return world;
}
