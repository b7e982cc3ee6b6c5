import * as fs from "node:fs";
import * as path from "node:path";
import { reply, repoRoot, startServer, TestServer } from "./servers";

/** One entry of aios-vectors.json (recorded from the real AIOS services). */
export interface Vector {
    title: string;
    request?: { method: string; url: string; json: unknown };
    response?: { status: number; body: unknown };
    k8s_log?: unknown[];
    k8s_log_tail?: unknown[];
    node?: { name: string; ready: boolean; labels: Record<string, string>; unschedulable?: boolean };
    secrets?: Record<string, { type: string; data: Record<string, string> }>;
}

/** The exchanges recorded from the unmodified AIOS reference services (test/fixtures/aios/README.md). */
export const VECTORS_PATH = path.resolve(repoRoot(), "test", "fixtures", "aios", "vectors.json");

/** The docs' example cluster document, as valid JSON: the world seeds its registry with it. */
export const CLUSTER_EXAMPLE_PATH = path.resolve(repoRoot(), "world", "aios", "cluster-example.json");

/** A fresh copy of the docs' example cluster document; throws if the file is missing. */
export function loadClusterExample(): Record<string, unknown> & { id: string } {
    if (!fs.existsSync(CLUSTER_EXAMPLE_PATH)) throw new Error(`the AIOS example cluster document is missing: expected ${CLUSTER_EXAMPLE_PATH}`);
    return JSON.parse(fs.readFileSync(CLUSTER_EXAMPLE_PATH, "utf8")) as Record<string, unknown> & { id: string };
}

let cache: Vector[] | undefined;

/** All recorded vectors, by index (Appendix B of aios-contract.md). */
export function loadVectors(): Vector[] {
    if (cache) return cache;
    if (!fs.existsSync(VECTORS_PATH)) {
        throw new Error(`the recorded AIOS vectors are missing: expected ${VECTORS_PATH}`);
    }
    const parsed = JSON.parse(fs.readFileSync(VECTORS_PATH, "utf8")) as { vectors?: Vector[] };
    if (!Array.isArray(parsed.vectors) || parsed.vectors.length === 0) throw new Error(`${VECTORS_PATH} has no "vectors" array`);
    cache = parsed.vectors;
    return cache;
}

/** The path part of a recorded URL such as `http://{gateway}/join-node/c`. */
export function pathOf(v: Vector): string {
    const url = v.request?.url ?? "";
    return url.replace(/^https?:\/\/\{[a-z]+\}/, "");
}

/**
 * A server that replays recorded responses: a request whose method and path match one of
 * `routes` gets that vector's status and body. With `fallback`, any other request gets the
 * fallback's response; otherwise it gets 404 text "no recorded vector".
 */
export function replay(routes: Vector[], fallback?: Vector): Promise<TestServer> {
    return startServer((req, res) => {
        const hit = routes.find((v) => v.request?.method === req.method && pathOf(v) === req.path) ?? fallback;
        if (!hit?.response) return reply(res, 404, `no recorded vector for ${req.method} ${req.path}`);
        reply(res, hit.response.status, hit.response.body);
    });
}
