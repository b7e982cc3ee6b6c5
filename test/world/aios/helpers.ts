/** HTTP and polling helpers for the AIOS stand-in tests. */
import * as http from "node:http";

export interface Reply {
    status: number;
    text: string;
    headers: http.IncomingHttpHeaders;
    /** The parsed JSON body, or undefined when the body is not JSON. */
    json: unknown;
}

/** One request; `body` is sent as JSON unless `raw` is given. Rejects on connection errors (with the Node error code). */
export function send(method: string, url: string, body?: unknown, opts: { raw?: string; contentType?: string } = {}): Promise<Reply> {
    const u = new URL(url);
    const payload = opts.raw !== undefined ? Buffer.from(opts.raw) : body === undefined || body === null ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {};
    if (payload) {
        headers["Content-Type"] = opts.contentType ?? "application/json";
        headers["Content-Length"] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
        const req = http.request({ method, host: u.hostname, port: u.port, path: u.pathname + u.search, headers, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                let json: unknown;
                try {
                    json = JSON.parse(text);
                } catch {
                    json = undefined;
                }
                resolve({ status: res.statusCode ?? 0, text, headers: res.headers, json });
            });
        });
        req.on("error", reject);
        if (payload) req.write(payload);
        req.end();
    });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10000, stepMs = 25): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
        const v = await probe();
        if (v !== undefined) return v;
        if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, stepMs));
    }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
