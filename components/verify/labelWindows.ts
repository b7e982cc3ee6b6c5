import type { NodeMetadata, NodeMetadataRead } from "../kube/client";

/**
 * When a node got its label, in this process's clock (ms since the epoch): not before `from` (unknown
 * when nothing bounds it), not after `until`.
 */
export interface LabelWindow {
    from?: number;
    until: number;
}

/** The API server writes field-manager times and its `Date` header to the second, truncated. */
const SECOND = 1000;

const field = (o: unknown, key: string): unknown => (typeof o === "object" && o !== null ? (o as Record<string, unknown>)[key] : undefined);

function setsLabel(fieldsV1: unknown, label: string): boolean {
    return field(field(field(fieldsV1, "f:metadata"), "f:labels"), `f:${label}`) !== undefined;
}

/**
 * What one read tells of a Node's label time. The last field manager that wrote the label says when it
 * was (re)set, in the API server's clock; its age at the server's `Date` is free of any clock
 * difference, and the server answered between `sentAt` and `receivedAt` of this clock.
 */
function windowInRead(meta: NodeMetadata, label: string, read: NodeMetadataRead): LabelWindow {
    const times = (meta.managedFields ?? [])
        .filter((m) => setsLabel(m.fieldsV1, label))
        .map((m) => Date.parse(m.time ?? ""))
        .filter((t) => Number.isFinite(t));
    if (times.length === 0 || read.serverDate === undefined) return { until: read.receivedAt };
    const setAt = Math.max(...times);
    // Both times are truncated to the second, so the age is known to within a second either way.
    const minAge = Math.max(0, read.serverDate - setAt - SECOND);
    const maxAge = read.serverDate - setAt + SECOND;
    return { from: read.sentAt - maxAge, until: read.receivedAt - minAge };
}

/**
 * The label windows after one more read, from the windows before it and the previous read's send time.
 * A node labelled in this read and not in the previous one got its label after the previous read was
 * sent; a node no longer labelled is dropped (labelled again later, it gets a new window).
 */
export function nextLabelWindows(before: Map<string, LabelWindow>, previousSentAt: number | undefined, read: NodeMetadataRead, label: string): Map<string, LabelWindow> {
    const next = new Map<string, LabelWindow>();
    for (const meta of read.nodes) {
        if (meta.labels?.[label] === undefined) continue;
        const now = windowInRead(meta, label, read);
        const known = before.get(meta.name);
        const froms = [known ? known.from : previousSentAt, now.from].filter((t): t is number => t !== undefined);
        next.set(meta.name, { from: froms.length > 0 ? Math.max(...froms) : undefined, until: Math.min(known?.until ?? Infinity, now.until) });
    }
    return next;
}
