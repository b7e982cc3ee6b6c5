/**
 * The HTTP plumbing shared by the AIOS stand-ins: a listener that can really close (so clients
 * see ECONNREFUSED) and reopen on the same port, a tiny router, the framework-specific answers
 * (Flask/Werkzeug and Express), and a client that fails the way Python `requests` does.
 */
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { PyError } from "./py";

export interface Req {
    method: string;
    /** Path without the query string, percent-decoded per segment by the router. */
    path: string;
    query: URLSearchParams;
    headers: http.IncomingHttpHeaders;
    raw: Buffer;
}

export interface Res {
    status: number;
    /** Reason phrase; Werkzeug sends it upper-case ("INTERNAL SERVER ERROR"). */
    reason?: string;
    headers?: Record<string, string>;
    body: string;
}

export type Handler = (req: Req, params: Record<string, string>) => Promise<Res> | Res;

interface Route {
    methods: string[];
    segments: string[];
    handler: Handler;
    name: string;
}

/** Routes `METHOD /a/:b` patterns; `*` as last segment matches the rest of the path. */
export class Router {
    private readonly routes: Route[] = [];

    add(methods: string | string[], pattern: string, handler: Handler): this {
        const ms = (Array.isArray(methods) ? methods : [methods]).map((m) => m.toUpperCase());
        this.routes.push({ methods: ms, segments: pattern.split("/").filter((s) => s !== ""), handler, name: pattern });
        return this;
    }

    /** `{route, params}` when the path matches some route, and whether the method is allowed. */
    match(method: string, path: string): { route?: Route; params: Record<string, string>; allowed: string[] } {
        const parts = path.split("/").filter((s) => s !== "");
        const allowed: string[] = [];
        for (const r of this.routes) {
            const params = matchSegments(r.segments, parts);
            if (params === undefined) continue;
            if (r.methods.includes(method)) return { route: r, params, allowed };
            allowed.push(...r.methods);
        }
        return { params: {}, allowed };
    }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
    const params: Record<string, string> = {};
    for (let i = 0; i < pattern.length; i++) {
        const p = pattern[i];
        if (p === "*") {
            params["*"] = parts.slice(i).join("/");
            return params;
        }
        if (i >= parts.length) return undefined;
        let part: string;
        try {
            part = decodeURIComponent(parts[i]);
        } catch {
            return undefined;
        }
        if (p.startsWith(":")) params[p.slice(1)] = part;
        else if (p !== part) return undefined;
    }
    return parts.length === pattern.length ? params : undefined;
}

export type RequestListener = (req: Req) => Promise<Res>;

/**
 * One service's listener. `close()` destroys open connections too, so a "down" service refuses
 * new connections at once; `open()` binds again, to the port it had before when it had one.
 */
export class Listener {
    private server?: http.Server;
    private readonly sockets = new Set<Socket>();
    private boundPort?: number;

    constructor(readonly name: string, private readonly host: string, private readonly wanted: number, private readonly onRequest: RequestListener) {}

    get port(): number {
        return this.boundPort ?? this.wanted;
    }

    get isOpen(): boolean {
        return this.server !== undefined;
    }

    async open(): Promise<number> {
        if (this.server) return this.port;
        const server = http.createServer((req, res) => void this.handle(req, res));
        server.keepAliveTimeout = 1000;
        server.on("connection", (s: Socket) => {
            this.sockets.add(s);
            s.on("close", () => this.sockets.delete(s));
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(this.boundPort ?? this.wanted, this.host, () => {
                server.off("error", reject);
                resolve();
            });
        });
        this.boundPort = (server.address() as AddressInfo).port;
        this.server = server;
        return this.boundPort;
    }

    async close(): Promise<void> {
        const server = this.server;
        if (!server) return;
        this.server = undefined;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of this.sockets) s.destroy();
        this.sockets.clear();
        await closed;
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const chunks: Buffer[] = [];
        try {
            for await (const c of req) chunks.push(c as Buffer);
        } catch {
            return;
        }
        const url = new URL(req.url ?? "/", "http://localhost");
        const r: Req = { method: (req.method ?? "GET").toUpperCase(), path: url.pathname, query: url.searchParams, headers: req.headers, raw: Buffer.concat(chunks) };
        let out: Res;
        try {
            out = await this.onRequest(r);
        } catch (e) {
            out = { status: 500, body: `internal error in the ${this.name} stand-in: ${(e as Error).message}\n`, headers: { "Content-Type": "text/plain" } };
        }
        if (res.destroyed) return;
        const body = Buffer.from(out.body, "utf8");
        res.writeHead(out.status, out.reason ?? http.STATUS_CODES[out.status] ?? "", { ...out.headers, "Content-Length": String(body.length) });
        res.end(r.method === "HEAD" ? undefined : body);
    }
}

// ---------------------------------------------------------------- Flask / Werkzeug answers

function sortKeys(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (typeof v === "object" && v !== null) {
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
        return out;
    }
    return v;
}

/** `jsonify(body), status` (Flask sorts keys). */
export function flaskJson(body: unknown, status = 200): Res {
    return {
        status,
        reason: (http.STATUS_CODES[status] ?? "").toUpperCase(),
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(sortKeys(body)) + "\n",
    };
}

function flaskHtml(status: number, title: string, text: string, extra: Record<string, string> = {}): Res {
    return {
        status,
        reason: title.toUpperCase(),
        headers: { "Content-Type": "text/html; charset=utf-8", ...extra },
        body: `<!doctype html>\n<html lang=en>\n<title>${status} ${title}</title>\n<h1>${title}</h1>\n<p>${text}</p>\n`,
    };
}

export function flaskNotFound(): Res {
    return flaskHtml(404, "Not Found", "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.");
}

export function flaskMethodNotAllowed(allowed: string[]): Res {
    const all = new Set(allowed);
    if (all.has("GET")) all.add("HEAD");
    all.add("OPTIONS");
    return flaskHtml(405, "Method Not Allowed", "The method is not allowed for the requested URL.", { Allow: [...all].sort().join(", ") });
}

/** Dispatches a Flask app: 404/405 pages like Werkzeug's. */
export async function flaskDispatch(router: Router, req: Req): Promise<Res> {
    const m = router.match(req.method, req.path);
    if (m.route) return m.route.handler(req, m.params);
    if (m.allowed.length > 0) return flaskMethodNotAllowed(m.allowed);
    return flaskNotFound();
}

/**
 * Flask's `request.json` / `request.get_json()`: 415 when the content type is not JSON, 400 when
 * the body does not decode. Raised as Werkzeug's HTTPException, whose `str()` the handlers return.
 */
export function flaskRequestJson(req: Req): unknown {
    const ct = String(req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (!(ct === "application/json" || (ct.startsWith("application/") && ct.endsWith("+json")))) {
        throw new PyError("UnsupportedMediaType", "415 Unsupported Media Type: Did not attempt to load JSON data because the request Content-Type was not 'application/json'.");
    }
    try {
        return JSON.parse(req.raw.toString("utf8"));
    } catch {
        throw new PyError("BadRequest", "400 Bad Request: Failed to decode JSON object: Expecting value: line 1 column 1 (char 0)");
    }
}

// ---------------------------------------------------------------- Express answers

export function expressJson(body: unknown, status = 200): Res {
    return { status, headers: { "Content-Type": "application/json; charset=utf-8" }, body: JSON.stringify(body) };
}

function escapeHtml(s: string): string {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** Express's default error page (finalhandler), without the stack trace. */
export function expressErrorPage(status: number, text: string): Res {
    return {
        status,
        headers: { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff" },
        body: `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>${escapeHtml(text)}</pre>\n</body>\n</html>\n`,
    };
}

// ---------------------------------------------------------------- a client like Python requests

export interface PyResponse {
    status: number;
    reason: string;
    url: string;
    text: string;
    /** `response.json()`; raises the JSONDecodeError text Python prints. */
    json(): unknown;
    /** `response.raise_for_status()`. */
    raiseForStatus(): void;
}

export interface ClientOptions {
    /** Extra headers (the stand-ins use one to tell the membership server its cluster). */
    headers?: Record<string, string>;
}

/** One HTTP call with `requests`-like results and error texts. `json === undefined` sends no body. */
export async function pyRequest(method: string, url: string, json?: unknown, opts: ClientOptions = {}): Promise<PyResponse> {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        throw new PyError("MissingSchema", `Invalid URL '${url}': No scheme supplied. Perhaps you meant https://${url}?`);
    }
    if (u.protocol !== "http:") throw new PyError("InvalidSchema", `No connection adapters were found for '${url}'`);
    const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
    const headers: Record<string, string> = { ...opts.headers, Accept: "*/*" };
    if (body) {
        headers["Content-Type"] = "application/json";
        headers["Content-Length"] = String(body.length);
    }
    return new Promise<PyResponse>((resolve, reject) => {
        const req = http.request({ method, host: u.hostname, port: u.port || 80, path: u.pathname + u.search, headers, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("error", (e) => reject(new PyError("ChunkedEncodingError", String(e.message))));
            res.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                const status = res.statusCode ?? 0;
                const reason = res.statusMessage ?? "";
                resolve({
                    status,
                    reason,
                    url,
                    text,
                    json() {
                        try {
                            return JSON.parse(text);
                        } catch {
                            throw new PyError("JSONDecodeError", "Expecting value: line 1 column 1 (char 0)");
                        }
                    },
                    raiseForStatus() {
                        if (status >= 400 && status < 500) throw new PyError("HTTPError", `${status} Client Error: ${reason} for url: ${url}`);
                        if (status >= 500 && status < 600) throw new PyError("HTTPError", `${status} Server Error: ${reason} for url: ${url}`);
                    },
                });
            });
        });
        req.on("error", (e: NodeJS.ErrnoException) => {
            const port = u.port || "80";
            const errno = e.code === "ECONNREFUSED" ? "[Errno 111] Connection refused" : `[Errno] ${e.code ?? e.message}`;
            reject(
                new PyError(
                    "ConnectionError",
                    `HTTPConnectionPool(host='${u.hostname}', port=${port}): Max retries exceeded with url: ${u.pathname}${u.search} (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f3a2c1d5e50>: Failed to establish a new connection: ${errno}'))`,
                ),
            );
        });
        if (body) req.write(body);
        req.end();
    });
}
