/**
 * Handling of the one secret the AIOS services hand out: the kubeadm bootstrap token inside a
 * join command. Everything that builds an error or log text from a response body goes through
 * `redactSecrets`, so a token can never leak through a message (BRIEF step 4).
 */

/** Placeholder written where a token was. */
export const REDACTED_TOKEN = "<redacted-token>";

// contract §8: generated tokens are `<[a-z0-9]{6}>.<[a-z0-9]{16}>` (kubeadm's bootstrap token format).
const BOOTSTRAP_TOKEN = /[a-z0-9]{6}\.[a-z0-9]{16}/g;
// A static joinCommand is pasted by hand (contract §2.3), so its token may not have the canonical
// shape: whatever follows `--token` is secret too.
const TOKEN_FLAG = /(--token(?:=|\s+))\S+/g;
const TOKEN_SHAPE = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const CA_CERT_HASH = /^sha256:[0-9a-f]{64}$/i;

/** Replaces every bootstrap token (and any value given to `--token`) with `<redacted-token>`. */
export function redactSecrets(text: string): string {
    return text.replace(TOKEN_FLAG, `$1${REDACTED_TOKEN}`).replace(BOOTSTRAP_TOKEN, REDACTED_TOKEN);
}

/** The parts of a `kubeadm join` command that the join step needs. */
export interface JoinCommand {
    /** API server endpoint, `host:port` (the membership server always uses port 6443, contract §4.3). */
    endpoint: string;
    /** The bootstrap token `<id>.<secret>`. Secret: never log it or put it on a command line. */
    token: string;
    /** Values of `--discovery-token-ca-cert-hash`, e.g. `sha256:<64 hex>`. */
    caCertHashes: string[];
    /** Any other arguments, in order (e.g. `--cri-socket x` from a hand-written static command). */
    extraArgs: string[];
}

/**
 * Parses `kubeadm join <host>:<port> --token <id>.<secret> --discovery-token-ca-cert-hash sha256:<hex>`
 * (contract §8), accepting `--flag=value` forms and a leading `sudo`. Throws an Error that
 * never contains the command or the token, so callers may show it as is.
 */
export function parseJoinCommand(command: string): JoinCommand {
    const words = command.trim().split(/\s+/);
    if (words[0] === "sudo") words.shift();
    if (words[0] !== "kubeadm" || words[1] !== "join") {
        throw new Error("join command does not start with `kubeadm join`");
    }
    let endpoint: string | undefined;
    let token: string | undefined;
    const caCertHashes: string[] = [];
    const extraArgs: string[] = [];
    for (let i = 2; i < words.length; i++) {
        const word = words[i];
        if (!word.startsWith("--")) {
            if (endpoint !== undefined) extraArgs.push(word);
            else endpoint = word;
            continue;
        }
        const eq = word.indexOf("=");
        const flag = eq >= 0 ? word.slice(0, eq) : word;
        const takeValue = (): string | undefined => (eq >= 0 ? word.slice(eq + 1) : words[++i]);
        if (flag === "--token") token = takeValue();
        else if (flag === "--discovery-token-ca-cert-hash") caCertHashes.push(takeValue() ?? "");
        else extraArgs.push(word);
    }
    if (endpoint === undefined || !/^[^:\s]+:\d{1,5}$/.test(endpoint)) {
        throw new Error("join command has no `<host>:<port>` API server endpoint");
    }
    if (token === undefined) throw new Error("join command has no --token");
    if (!TOKEN_SHAPE.test(token)) {
        throw new Error("join command's --token is not a bootstrap token of the form <6 of [a-z0-9]>.<16 of [a-z0-9]>");
    }
    if (caCertHashes.length === 0) throw new Error("join command has no --discovery-token-ca-cert-hash");
    const badHash = caCertHashes.find((h) => !CA_CERT_HASH.test(h));
    if (badHash !== undefined) {
        throw new Error(
            `join command's --discovery-token-ca-cert-hash ${JSON.stringify(badHash.slice(0, 80))} is not sha256:<64 hex digits> ` +
                "(contract §2.3: config.certHash must hold the hex digits only)",
        );
    }
    return { endpoint, token, caCertHashes, extraArgs };
}
