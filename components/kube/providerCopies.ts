import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseKubeconfig } from "./kubeconfig";

/** The names `os.CreateTemp("", "kubeconfig")` gives in Go: the prefix and a run of digits. */
const COPY_NAME = /^kubeconfig\d+$/;
const MAX_COPY_BYTES = 1 << 20;

/**
 * The kubernetes provider (pulumi-kubernetes 4.x, `writeKubeconfigToFile`) writes the kubeconfig it is
 * configured with to `$TMPDIR/kubeconfig<digits>` on every configure, for Helm, and never deletes it:
 * every preview, up, destroy and refresh would leave a plaintext copy of the admin credentials behind.
 * Nothing of ours uses Helm, so the program (once its provider is configured) and every step remove the
 * copies that hold this kubeconfig's credentials. Files of other clusters and users are left alone.
 *
 * Returns how many copies were removed; never throws (a copy that cannot be read or removed stays).
 */
export function removeKubeconfigCopies(kubeconfig: string, dir: string = os.tmpdir()): number {
    let needles: string[];
    try {
        const target = parseKubeconfig(kubeconfig);
        // clientcmd writes the key as client-key-data (standard base64) and a token as it is.
        needles = [target.key?.toString("base64"), target.token].filter((n): n is string => !!n && n.length >= 16);
    } catch {
        return 0;
    }
    if (needles.length === 0) return 0;
    let entries: string[];
    try {
        entries = fs.readdirSync(dir).filter((n) => COPY_NAME.test(n));
    } catch {
        return 0;
    }
    let removed = 0;
    for (const name of entries) {
        const file = path.join(dir, name);
        try {
            const st = fs.lstatSync(file);
            if (!st.isFile() || st.size > MAX_COPY_BYTES || (typeof process.getuid === "function" && st.uid !== process.getuid())) continue;
            const text = fs.readFileSync(file, "utf8");
            if (!needles.some((n) => text.includes(n))) continue;
            fs.unlinkSync(file);
            removed++;
        } catch {
            // Gone already (another step removed it), or not ours to remove.
        }
    }
    return removed;
}
