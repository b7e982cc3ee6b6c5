/**
 * Lenient Kubernetes version parsing. The AIOS examples hold values such as "v28.0.1" and
 * "v28.0.01" (contract §2.3) while real kubeadm prints "v1.36.3"; we compare major.minor
 * and always say what was compared.
 */
export interface ParsedVersion {
    major: number;
    minor: number;
    patch?: number;
    /** The text it came from, for messages. */
    raw: string;
    /** Set when the text was read leniently, e.g. "v28.0.1" read as 1.28. */
    note?: string;
}

export function parseKubeVersion(text: string): ParsedVersion | undefined {
    const raw = text.trim();
    const m = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(raw);
    if (!m) {
        const only = /^v?(\d+)$/.exec(raw);
        if (only && Number(only[1]) >= 10) {
            return { major: 1, minor: Number(only[1]), raw, note: `"${raw}" read as 1.${Number(only[1])}` };
        }
        return undefined;
    }
    const [major, minor, patch] = [Number(m[1]), Number(m[2]), m[3] === undefined ? undefined : Number(m[3])];
    // Kubernetes has been 1.x forever; "v28.0.1" in the AIOS docs means 1.28.
    if (major >= 10 && major < 100) {
        return { major: 1, minor: major, raw, note: `"${raw}" is not a Kubernetes version (they are 1.x); read as 1.${major}` };
    }
    return { major, minor, patch, raw };
}

export function formatMinor(v: ParsedVersion): string {
    return `${v.major}.${v.minor}`;
}

/** Extracts the version from `kubeadm version -o short` or the long `kubeadm version` form. */
export function parseKubeadmVersionOutput(output: string): ParsedVersion | undefined {
    const git = /GitVersion:"([^"]+)"/.exec(output);
    const text = git ? git[1] : output.trim().split(/\s+/)[0] ?? "";
    const v = parseKubeVersion(text);
    return v && !v.note ? v : undefined;
}
