import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Input } from "@pulumi/pulumi";
import { z } from "zod";

/**
 * Read-only SSH from the Pulumi program (used at preview, where @pulumi/command cannot run
 * anything remote). It uses the system OpenSSH client with the pinned host key and the
 * stack's key written to a private temporary file, so neither the key nor any secret is
 * ever on a command line; the script travels on stdin.
 */
export interface SshTarget {
    host: string;
    port: number;
    user: string;
    hostKey: string;
    privateKey: string;
    connectTimeoutSeconds: number;
}

/** An SshTarget as it crosses into the provider plugin (the key revealed from its secret). */
export const sshTargetSchema = z.object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    user: z.string().min(1),
    hostKey: z.string().min(1),
    privateKey: z.string().min(1),
    connectTimeoutSeconds: z.number().positive(),
}) satisfies z.ZodType<SshTarget>;

/**
 * An SshTarget as a resource of the provider plugin keeps it: without `privateKey` when the key is its
 * provider's (OnboardingProvider `privateKey`, the stack's key), so a stack stores that key once instead
 * of in every machine's registration and verification. An operation fills it in (OperationContext.ssh).
 */
export const storedSshTargetSchema = sshTargetSchema.extend({ privateKey: z.string().min(1).optional() });
export type StoredSshTarget = z.infer<typeof storedSshTargetSchema>;

/** An SshTarget as the program hands it to a resource: each field an input, so the key alone is secret. */
export type SshTargetInputs = { [K in keyof SshTarget]: Input<SshTarget[K]> };

export type SshFailureKind = "host-key-mismatch" | "auth-failed" | "unreachable" | "timeout" | "ssh-error" | "missing-client";

export class SshError extends Error {
    constructor(
        readonly kind: SshFailureKind,
        readonly target: string,
        readonly detail: string,
    ) {
        super(`${target}: ${SSH_HINTS[kind].what} (${detail}); ${SSH_HINTS[kind].fix}`);
        this.name = "SshError";
    }
}

const SSH_HINTS: Record<SshFailureKind, { what: string; fix: string }> = {
    "host-key-mismatch": {
        what: "the host key does not match the pinned hostKey",
        fix: "if the machine was reinstalled, re-pin it with `ssh-keyscan -t ed25519 <host>`; otherwise stop: this may be a different machine",
    },
    "auth-failed": {
        what: "SSH authentication was refused",
        fix: "check the user and that the stack's sshPrivateKey is in the machine's authorized_keys",
    },
    unreachable: { what: "the SSH port cannot be reached", fix: "check host, port, routing and that sshd runs" },
    timeout: { what: "SSH timed out", fix: "check that the machine is up and the network path allows SSH" },
    "ssh-error": { what: "SSH failed", fix: "run the same connection by hand with `ssh -v` to see why" },
    "missing-client": { what: "the OpenSSH client `ssh` is not installed where Pulumi runs", fix: "install openssh-client" },
};

export function classifySshFailure(stderr: string): SshFailureKind {
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed|No (ED25519|RSA|ECDSA) host key is known/i.test(stderr)) {
        return "host-key-mismatch";
    }
    if (/Permission denied|Too many authentication failures|no mutual signature/i.test(stderr)) return "auth-failed";
    if (/Connection refused|No route to host|Network is unreachable|Could not resolve hostname|Name or service not known/i.test(stderr)) return "unreachable";
    if (/timed out|Connection closed by .* port|Timeout/i.test(stderr)) return "timeout";
    return "ssh-error";
}

/** The known_hosts line: an alias pins exactly one key regardless of how the host is written. */
export function knownHostsLine(alias: string, hostKey: string): string {
    const [type, key] = hostKey.trim().split(/\s+/);
    return `${alias} ${type} ${key}\n`;
}

export interface SshResult {
    stdout: string;
    stderr: string;
    code: number;
}

/**
 * Runs `script` with `sh -s` on the target. Resolves with the remote exit status; rejects
 * with SshError when SSH itself failed (exit 255) or the overall deadline passed.
 */
export async function runRemoteScript(target: SshTarget, script: string, deadlineSeconds: number): Promise<SshResult> {
    const dir = await mkdtemp(join(tmpdir(), "aios-ssh-"));
    const label = `${target.user}@${target.host}:${target.port}`;
    try {
        const keyFile = join(dir, "id");
        const knownHosts = join(dir, "known_hosts");
        const key = target.privateKey.endsWith("\n") ? target.privateKey : `${target.privateKey}\n`;
        await writeFile(keyFile, key, { mode: 0o600 });
        await writeFile(knownHosts, knownHostsLine("aios-target", target.hostKey), { mode: 0o600 });
        const args = [
            "-F", "/dev/null",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            // ssh splits an option's value at spaces unless it is quoted (a TMPDIR may hold spaces).
            "-o", `UserKnownHostsFile="${knownHosts}"`,
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "HostKeyAlias=aios-target",
            "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none",
            "-o", `ConnectTimeout=${target.connectTimeoutSeconds}`,
            "-o", "ServerAliveInterval=5",
            "-o", "ServerAliveCountMax=3",
            "-o", "LogLevel=ERROR",
            "-i", keyFile,
            "-p", String(target.port),
            "-l", target.user,
            "--", target.host,
            "sh -s",
        ];
        return await new Promise<SshResult>((resolve, reject) => {
            const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            const timer = setTimeout(() => {
                child.kill("SIGKILL");
                reject(new SshError("timeout", label, `no answer within ${deadlineSeconds}s`));
            }, deadlineSeconds * 1000);
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("error", (err: NodeJS.ErrnoException) => {
                clearTimeout(timer);
                reject(err.code === "ENOENT" ? new SshError("missing-client", label, "spawn ssh ENOENT") : err);
            });
            child.on("close", (code) => {
                clearTimeout(timer);
                if (code === 255) {
                    const detail = stderr.trim().split("\n").filter(Boolean).slice(-2).join(" ").slice(0, 300);
                    reject(new SshError(classifySshFailure(stderr), label, detail || "ssh exit 255"));
                } else {
                    resolve({ stdout, stderr, code: code ?? -1 });
                }
            });
            child.stdin.on("error", () => undefined);
            child.stdin.end(script);
        });
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}
