import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

/** One request as a test server received it. */
export interface Received {
    method: string;
    path: string;
    /** Parsed JSON body; null when the request had none. */
    body: unknown;
    headers: http.IncomingHttpHeaders;
}

/** A real HTTP server on 127.0.0.1 that records what it receives. */
export interface TestServer {
    url: string;
    port: number;
    received: Received[];
    close(): Promise<void>;
}

export type Handler = (req: Received, res: http.ServerResponse) => void;

/** Starts a server on 127.0.0.1 (ephemeral port unless `port` is given). */
export async function startServer(handler: Handler, port = 0): Promise<TestServer> {
    const received: Received[] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const raw = Buffer.concat(chunks).toString("utf8");
            const body = raw === "" ? null : (JSON.parse(raw) as unknown);
            const r: Received = { method: req.method ?? "", path: req.url ?? "", body, headers: req.headers };
            received.push(r);
            handler(r, res);
        });
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    const actual = (server.address() as AddressInfo).port;
    return {
        url: `http://127.0.0.1:${actual}`,
        port: actual,
        received,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

/** Answers with a JSON body, or with the text as is (e.g. an HTML page) when `body` is a string. */
export function reply(res: http.ServerResponse, status: number, body: unknown): void {
    if (typeof body === "string") {
        res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
        res.end(body);
        return;
    }
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
}

/** A port on 127.0.0.1 with nothing listening (it was free a moment ago). */
export async function closedPort(): Promise<number> {
    const s = await startServer(() => undefined);
    await s.close();
    return s.port;
}

/** The repository root: the nearest directory above this file whose package.json names the project. */
export function repoRoot(): string {
    let dir = __dirname;
    for (;;) {
        const pkg = path.join(dir, "package.json");
        if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, "utf8")) as { name?: string }).name === "aios-onboarding") return dir;
        const up = path.dirname(dir);
        if (up === dir) throw new Error(`no package.json named aios-onboarding above ${__dirname}`);
        dir = up;
    }
}
