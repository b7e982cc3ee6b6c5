/**
 * A small JSON-over-HTTP helper shared by the AIOS clients: bounded timeouts, retries only where
 * a retry cannot repeat a side effect, and one typed error (`AiosError`) whose message says which
 * service, which URL, what happened and what to do about it.
 */
import * as http from "node:http";
import * as https from "node:https";
import { redactSecrets } from "./secrets";

/** The AIOS services this package talks to. */
export type AiosService = "registry" | "parser" | "gateway";

/**
 * What went wrong:
 * - `unreachable`: no connection (refused, reset, DNS, ...);
 * - `timeout`: no complete answer within the per-request timeout;
 * - `http`: an error status (4xx/5xx) with the service's error text;
 * - `malformed`: a success status whose body we cannot use (not JSON, wrong shape);
 * - `rejected`: an AIOS policy said no;
 * - `failed`: the service answered and reported a failure (often inside an HTTP 200).
 */
export type AiosErrorKind = "unreachable" | "timeout" | "http" | "malformed" | "rejected" | "failed";

/** Fields of an AiosError. */
export interface AiosErrorFields {
    service: AiosService;
    /** What we were doing, phrased to follow "while", e.g. `reading cluster demo`. */
    operation: string;
    /** The request URL, without credentials. */
    url: string;
    status?: number;
    kind: AiosErrorKind;
    /** What happened, in the service's words where it gave any. Secrets are redacted. */
    reason: string;
    /** What the user can do about it. */
    fix: string;
    /** Set by `GatewayClient.removeNode` when AIOS says the node is not a Kubernetes node. */
    notInKubernetes?: boolean;
    /** Overrides the standard message (used for malformed cluster documents). */
    message?: string;
}

/** The one error type of the AIOS clients. */
export class AiosError extends Error {
    readonly service: AiosService;
    readonly operation: string;
    readonly url: string;
    readonly status?: number;
    readonly kind: AiosErrorKind;
    readonly reason: string;
    readonly fix: string;
    readonly notInKubernetes?: boolean;

    constructor(f: AiosErrorFields) {
        const reason = redactSecrets(f.reason);
        super(redactSecrets(f.message ?? `${f.service} ${f.url} ${describe(f.kind, f.status, reason)} while ${f.operation}: ${f.fix}`));
        this.name = "AiosError";
        this.service = f.service;
        this.operation = f.operation;
        this.url = f.url;
        this.status = f.status;
        this.kind = f.kind;
        this.reason = reason;
        this.fix = f.fix;
        if (f.notInKubernetes) this.notInKubernetes = true;
    }

    static isInstance(e: unknown): e is AiosError {
        return e instanceof AiosError;
    }
}

function describe(kind: AiosErrorKind, status: number | undefined, reason: string): string {
    switch (kind) {
        case "unreachable":
            return `unreachable (${reason})`;
        case "timeout":
            return `did not answer in time (${reason})`;
        case "http":
            return `answered HTTP ${status}: ${reason}`;
        case "malformed":
            return `sent a response we cannot decode${status === undefined ? "" : ` (HTTP ${status})`}: ${reason}`;
        case "rejected":
            return `rejected the request by policy: ${reason}`;
        case "failed":
            return `reported a failure${status === undefined || status === 200 ? "" : ` (HTTP ${status})`}: ${reason}`;
    }
}

/** Transport settings shared by every client. */
export interface HttpOptions {
    /** Bound on each attempt, connection to last byte, in ms. @default 10000 */
    timeoutMs?: number;
    /** Attempts for retryable requests (GETs, queries, dry runs). Others get exactly one. @default 3 */
    attempts?: number;
    /** Wait before the first retry, doubled for each further one (0.5 s → 1 s → 2 s). @default 500 */
    backoffMs?: number;
    /** Name of the setting that holds this service's URL, used in fix hints. @default `<service>Url` */
    urlSetting?: string;
    /** Called before each retry, e.g. to log it. */
    onRetry?: (info: RetryInfo) => void;
}

/** What `onRetry` is told. */
export interface RetryInfo {
    service: AiosService;
    operation: string;
    url: string;
    /** The attempt that just failed, from 1. */
    attempt: number;
    delayMs: number;
    /** Why it failed: an error code or `HTTP <status>`. */
    reason: string;
}

/** One request. */
export interface JsonRequest {
    service: AiosService;
    operation: string;
    method: "GET" | "POST" | "PUT";
    url: string;
    body?: unknown;
    /**
     * Whether a transient failure may be retried. Only for requests without side effects (GETs,
     * queries, dry runs): a POST such as join-node mints a token and starts a waiter (contract §4.3),
     * and its 500 may be a policy decision (contract §4.2), so it must never be repeated blindly.
     */
    retryable: boolean;
}

/** A response whose body was JSON (any status). */
export interface JsonResponse {
    status: number;
    body: unknown;
    /** The request URL, without credentials. */
    url: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF_MS = 500;
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const EXCERPT_CHARS = 160;

// Connection-level failures worth another try; anything else (TLS, bad URL, unknown host) is not transient.
const TRANSIENT_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/** The URL without user/password, for messages (a registry URL may carry basic-auth credentials). */
export function safeUrl(url: string): string {
    try {
        const u = new URL(url);
        u.username = "";
        u.password = "";
        return u.toString().replace(/\/$/, "");
    } catch {
        return "<invalid URL>";
    }
}

/** Checks a base URL given by the user and returns it without a trailing slash. */
export function normalizeBaseUrl(service: AiosService, setting: string, url: string): string {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new Error(`${setting} ${JSON.stringify(url)} is not a URL; give the ${service}'s http(s) base URL, e.g. http://127.0.0.1:30101`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
        throw new Error(`${setting} ${safeUrl(url)} must be an http:// or https:// URL`);
    }
    return url.replace(/\/+$/, "");
}

/** Default fix hints for transport failures. */
export function transportFix(service: AiosService, opts: HttpOptions): string {
    return `check ${opts.urlSetting ?? `${service}Url`} and that the ${service} is up`;
}

/**
 * Sends one JSON request and returns the decoded response for any status, so the caller can read
 * the service's `{"error": ...}` text. Throws AiosError for connection errors, timeouts and
 * bodies that are not JSON (e.g. Express's HTML 400 page, contract §2.1; the gateway's HTML 404,
 * contract §3.3). Retryable requests are retried on connection errors, timeouts and 5xx.
 */
export async function requestJson(req: JsonRequest, opts: HttpOptions = {}): Promise<JsonResponse> {
    const attempts = req.retryable ? Math.max(1, opts.attempts ?? DEFAULT_ATTEMPTS) : 1;
    const backoffMs = opts.backoffMs ?? DEFAULT_BACKOFF_MS;
    const url = safeUrl(req.url);
    for (let attempt = 1; ; attempt++) {
        const outcome = await attemptOnce(req, url, opts);
        const transient = "error" in outcome ? outcome.transient : outcome.response.status >= 500;
        if (!transient || attempt >= attempts) {
            if ("error" in outcome) throw outcome.error;
            return outcome.response;
        }
        const delayMs = backoffMs * 2 ** (attempt - 1);
        const reason = "error" in outcome ? outcome.error.reason : `HTTP ${outcome.response.status}`;
        opts.onRetry?.({ service: req.service, operation: req.operation, url, attempt, delayMs, reason });
        await sleep(delayMs);
    }
}

type Outcome = { response: JsonResponse } | { error: AiosError; transient: boolean };

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One attempt: resolves to a decoded response or to an error marked transient or not (never rejects). */
function attemptOnce(req: JsonRequest, url: string, opts: HttpOptions): Promise<Outcome> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const base = { service: req.service, operation: req.operation, url };
    return new Promise((resolve) => {
        const controller = new AbortController();
        let timedOut = false;
        // Settle on the timer itself: an abort during the body read may not surface as an 'error'.
        const timer = setTimeout(() => {
            timedOut = true;
            controller.abort();
            fail(new Error("timeout"));
        }, timeoutMs);
        let settled = false;
        const finish = (value: Outcome): void => {
            clearTimeout(timer);
            if (!settled) resolve(value);
            settled = true;
        };
        const fail = (err: NodeJS.ErrnoException): void => {
            if (timedOut) {
                const reason = `no complete response within ${timeoutMs} ms`;
                return finish({ error: new AiosError({ ...base, kind: "timeout", reason, fix: `${transportFix(req.service, opts)}, or raise timeoutMs` }), transient: true });
            }
            // "socket hang up" is Node's ECONNRESET before any response; show the words users search for.
            const reason = err.message === "socket hang up" ? "socket hang up" : (err.code ?? err.message);
            const error = new AiosError({ ...base, kind: "unreachable", reason, fix: transportFix(req.service, opts) });
            finish({ error, transient: TRANSIENT_CODES.has(err.code ?? "") });
        };
        const client = req.url.startsWith("https:") ? https : http;
        const headers: Record<string, string> = { accept: "application/json" };
        if (payload) {
            headers["content-type"] = "application/json";
            headers["content-length"] = String(payload.length);
        }
        let request: http.ClientRequest;
        try {
            request = client.request(req.url, { method: req.method, headers, signal: controller.signal });
        } catch (err) {
            return fail(err as NodeJS.ErrnoException);
        }
        request.on("error", fail);
        request.on("response", (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on("data", (chunk: Buffer) => {
                size += chunk.length;
                if (size > MAX_BODY_BYTES) {
                    res.destroy();
                    const reason = `response body larger than ${MAX_BODY_BYTES} bytes`;
                    finish({ error: new AiosError({ ...base, status: res.statusCode, kind: "malformed", reason, fix: pointsAtFix(req.service, opts) }), transient: false });
                    return;
                }
                chunks.push(chunk);
            });
            res.on("error", fail);
            res.on("end", () => finish(decodeBody(req, url, opts, res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8"))));
        });
        request.end(payload);
    });
}

/** Decodes a body as JSON; a non-JSON body becomes `malformed` (2xx) or `http` (error status) with an excerpt. */
function decodeBody(req: JsonRequest, url: string, opts: HttpOptions, status: number, text: string): Outcome {
    try {
        if (text.trim() === "") throw new Error("empty body");
        return { response: { status, body: JSON.parse(text) as unknown, url } };
    } catch {
        const ok = status >= 200 && status < 300;
        // A 5xx HTML page (e.g. a proxy's 502) is as transient as a JSON 5xx.
        const error = new AiosError({
            service: req.service,
            operation: req.operation,
            url,
            status,
            kind: ok ? "malformed" : "http",
            reason: `expected JSON, got ${text.trim() === "" ? "an empty body" : `"${excerpt(text)}"`}`,
            fix: `${pointsAtFix(req.service, opts)} and that the route exists in its version`,
        });
        return { error, transient: status >= 500 };
    }
}

function pointsAtFix(service: AiosService, opts: HttpOptions): string {
    return `check that ${opts.urlSetting ?? `${service}Url`} points at the AIOS ${service}`;
}

/** A short, single-line, tag-free excerpt of a body for messages. */
export function excerpt(text: string): string {
    const flat = text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
    return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

/** Narrows a JSON value to a plain object. */
export function asObject(value: unknown): Record<string, unknown> | undefined {
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * The error text of a JSON error body. The AIOS services use `{"error": ...}` (registry, parser,
 * gateway: contract §2.1, §3.1, §4.2), the gateway's wrappers `{"data": "<text>"}` (§2.1) and the
 * controller `{"message": ...}` (§6.3); anything else is shown as a JSON excerpt.
 */
export function errorText(body: unknown): string {
    const o = asObject(body);
    for (const key of ["error", "message", "data"]) {
        const v = o?.[key];
        if (typeof v === "string" && v !== "") return v;
    }
    return body === undefined ? "no error text" : excerpt(JSON.stringify(body));
}
