/**
 * The read-only probe run on a machine at every preview and update, and the parsers of its
 * output. One SSH session runs one script whose sections are separated by `@@name` lines.
 * Nothing in the script writes anywhere; it only reads /proc, /sys and tool versions.
 */

export const STATE_DIR = "/var/lib/aios-onboarding";
export const MARKER_FILE = `${STATE_DIR}/state.json`;
export const KUBELET_CONF = "/etc/kubernetes/kubelet.conf";

/**
 * Shell that prints the SHA-256 of the CA certificate (PEM) the kubelet config trusts, inline or as a
 * file, or nothing; `$SUDO` must be set. Shared by the probe and the join's adoption.
 */
export const KUBELET_CA_SHA256 = `kubelet_ca_sha256() {
  CA=$($SUDO sed -n 's/^ *certificate-authority-data: *//p' ${KUBELET_CONF} | head -n 1)
  CAFILE=$($SUDO sed -n 's/^ *certificate-authority: *//p' ${KUBELET_CONF} | head -n 1)
  if [ -n "$CA" ]; then printf '%s' "$CA" | base64 -d 2>/dev/null | sha256sum | cut -d' ' -f1
  elif [ -n "$CAFILE" ] && $SUDO test -r "$CAFILE"; then $SUDO sha256sum "$CAFILE" | cut -d' ' -f1; fi
}`;

export const PROBE_SCRIPT = `set +e
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin"
export LC_ALL=C
sec() { printf '\\n@@%s\\n' "$1"; }
${KUBELET_CA_SHA256}
if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
sec privilege; if [ -z "$SUDO" ]; then echo root; elif [ "$SUDO" = none ]; then echo none; else echo sudo; fi
sec kubeadm; if command -v kubeadm >/dev/null 2>&1; then kubeadm version -o short 2>&1; echo "exit=$?"; else echo missing; fi
sec addr; ip -o addr show 2>&1
sec link; ip -o link show 2>&1
sec meminfo; cat /proc/meminfo
sec cpus; nproc 2>/dev/null || grep -c ^processor /proc/cpuinfo
sec tcp; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
sec udp; cat /proc/net/udp /proc/net/udp6 2>/dev/null
sec blocks; for d in /sys/block/*; do n=\${d##*/}; case $n in loop*|ram*|zram*|sr*|fd*|dm-*|md*|nbd*) continue;; esac; [ -r "$d/size" ] && echo "$n $(cat "$d/size")"; done
sec speed; for d in /sys/class/net/*; do n=\${d##*/}; [ "$n" = lo ] && continue; s=$(cat "$d/speed" 2>/dev/null); echo "$n \${s:--1}"; done
sec gpus; if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits 2>&1; echo "exit=$?"; else echo missing; fi
sec kubelet
if [ "$SUDO" = none ]; then echo unknown
elif $SUDO test -e ${KUBELET_CONF}; then
  echo present
  $SUDO sed -n 's/^ *server: *//p' ${KUBELET_CONF} | head -n 1
  SUM=$(kubelet_ca_sha256); [ -n "$SUM" ] && printf 'ca-sha256 %s\\n' "$SUM"
else echo absent; fi
sec marker; if [ "$SUDO" != none ] && $SUDO test -r ${MARKER_FILE}; then $SUDO cat ${MARKER_FILE}; else echo absent; fi
sec hostname; hostname 2>/dev/null || cat /proc/sys/kernel/hostname
sec end
`;

export type Sections = Record<string, string[]>;

export function splitSections(output: string): Sections {
    const sections: Sections = {};
    let current: string | undefined;
    for (const line of output.split(/\r?\n/)) {
        const m = /^@@([a-z]+)$/.exec(line);
        if (m) {
            current = m[1];
            sections[current] = [];
        } else if (current !== undefined) {
            sections[current].push(line);
        }
    }
    for (const key of Object.keys(sections)) {
        const lines = sections[key];
        while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
    }
    return sections;
}

export interface InterfaceAddress {
    iface: string;
    family: "inet" | "inet6";
    address: string;
    prefix: number;
    /** DHCP or SLAAC assigned: `ip` marks such addresses "dynamic". */
    dynamic: boolean;
}

/** Parses `ip -o addr show`, e.g. `2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global dynamic eth0`. */
export function parseIpAddr(lines: string[]): InterfaceAddress[] {
    const out: InterfaceAddress[] = [];
    for (const line of lines) {
        const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+(inet6?)\s+([0-9a-fA-F.:]+)\/(\d+)(.*)$/.exec(line.trim());
        if (!m) continue;
        out.push({
            iface: m[1],
            family: m[2] as "inet" | "inet6",
            address: m[3],
            prefix: Number(m[4]),
            dynamic: /\bdynamic\b/.test(m[5]),
        });
    }
    return out;
}

export interface LinkInfo {
    name: string;
    up: boolean;
    state: string;
}

/** Parses `ip -o link show`, e.g. `5: wg0: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 qdisc ... state UNKNOWN ...`. */
export function parseIpLink(lines: string[]): LinkInfo[] {
    const out: LinkInfo[] = [];
    for (const line of lines) {
        const m = /^\d+:\s+([^:@\s]+)(?:@[^:]+)?:\s+<([^>]*)>.*?\bstate\s+(\S+)/.exec(line.trim());
        if (!m) continue;
        const flags = m[2].split(",");
        out.push({ name: m[1], up: flags.includes("UP"), state: m[3] });
    }
    return out;
}

export interface Listener {
    proto: "tcp" | "udp";
    address: string;
    port: number;
}

/**
 * Parses /proc/net/{tcp,tcp6,udp,udp6}. TCP sockets count when listening (state 0A);
 * any bound UDP socket (state 07, unconnected) takes its port.
 */
export function parseProcNet(lines: string[], proto: "tcp" | "udp"): Listener[] {
    const out: Listener[] = [];
    for (const line of lines) {
        const cols = line.trim().split(/\s+/);
        if (cols.length < 4 || !/^\d+:$/.test(cols[0])) continue;
        const [addrHex, portHex] = cols[1].split(":");
        const state = cols[3];
        if (proto === "tcp" && state !== "0A") continue;
        if (proto === "udp" && state !== "07") continue;
        out.push({ proto, address: decodeProcAddress(addrHex), port: parseInt(portHex, 16) });
    }
    return out;
}

function decodeProcAddress(hex: string): string {
    if (hex.length === 8) {
        const b = Buffer.from(hex, "hex");
        return `${b[3]}.${b[2]}.${b[1]}.${b[0]}`;
    }
    // IPv6: four little-endian 32-bit words.
    const words: string[] = [];
    for (let i = 0; i < 32; i += 8) {
        const w = hex.slice(i, i + 8).match(/../g) ?? [];
        words.push(w.reverse().join(""));
    }
    const groups = words.join("").match(/.{4}/g) ?? [];
    return groups.map((g) => g.replace(/^0{1,3}/, "")).join(":");
}

export function parseMeminfo(lines: string[]): { memTotalKiB: number; swapTotalKiB: number } {
    const get = (key: string): number => {
        const line = lines.find((l) => l.startsWith(`${key}:`));
        const m = line ? /(\d+)/.exec(line) : null;
        return m ? Number(m[1]) : 0;
    };
    return { memTotalKiB: get("MemTotal"), swapTotalKiB: get("SwapTotal") };
}

export interface GpuInfo {
    modelName: string;
    memoryMiB: number;
}

export type GpuProbe =
    | { kind: "absent" }
    | { kind: "ok"; gpus: GpuInfo[] }
    | { kind: "failed"; message: string };

/** Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` plus our `exit=` line. */
export function parseNvidiaSmi(lines: string[]): GpuProbe {
    if (lines.length === 1 && lines[0].trim() === "missing") return { kind: "absent" };
    const exitLine = lines.find((l) => l.startsWith("exit="));
    const exit = exitLine ? Number(exitLine.slice(5)) : 0;
    const body = lines.filter((l) => !l.startsWith("exit=") && l.trim() !== "");
    if (exit !== 0) return { kind: "failed", message: body.join(" ").slice(0, 300) || `exit status ${exit}` };
    const gpus: GpuInfo[] = [];
    for (const line of body) {
        const m = /^(.*\S)\s*,\s*(\d+)(?:\s*MiB)?\s*$/.exec(line.trim());
        if (!m) return { kind: "failed", message: `unexpected nvidia-smi output line ${JSON.stringify(line.slice(0, 120))}` };
        gpus.push({ modelName: m[1], memoryMiB: Number(m[2]) });
    }
    return { kind: "ok", gpus };
}

export interface MachineFacts {
    privilege: "root" | "sudo" | "none";
    kubeadm: { kind: "missing" } | { kind: "ok"; output: string } | { kind: "failed"; output: string };
    addresses: InterfaceAddress[];
    links: LinkInfo[];
    memTotalKiB: number;
    swapTotalKiB: number;
    cpus: number;
    listeners: Listener[];
    disks: { name: string; bytes: number }[];
    linkSpeedsMbps: { name: string; mbps: number }[];
    gpus: GpuProbe;
    /** `caSha256`: SHA-256 of the cluster CA certificate (PEM) the kubelet config trusts. */
    kubelet: { kind: "absent" } | { kind: "present"; server?: string; caSha256?: string } | { kind: "unknown" };
    marker?: { clusterId?: string; nodeId?: string; endpoint?: string };
    hostname: string;
}

export class ProbeOutputError extends Error {}

/** Turns the probe's raw output into facts; throws ProbeOutputError when it is truncated. */
export function parseProbeOutput(output: string): MachineFacts {
    const s = splitSections(output);
    if (!("end" in s)) throw new ProbeOutputError("the probe output is incomplete (no end marker); the SSH session was cut short");
    const need = (name: string): string[] => s[name] ?? [];
    const kubeadmLines = need("kubeadm");
    let kubeadm: MachineFacts["kubeadm"];
    if (kubeadmLines.length === 1 && kubeadmLines[0].trim() === "missing") kubeadm = { kind: "missing" };
    else {
        const exitLine = kubeadmLines.find((l) => l.startsWith("exit="));
        const text = kubeadmLines.filter((l) => !l.startsWith("exit=")).join("\n").trim();
        kubeadm = exitLine && exitLine !== "exit=0" ? { kind: "failed", output: text } : { kind: "ok", output: text };
    }
    const kubeletLines = need("kubelet");
    let kubelet: MachineFacts["kubelet"];
    if (kubeletLines[0] === "present") {
        const server = kubeletLines.slice(1).find((l) => l.trim() && !l.startsWith("ca-sha256 "))?.trim();
        const caSha256 = /^ca-sha256 ([0-9a-f]{64})$/.exec(kubeletLines.find((l) => l.startsWith("ca-sha256 ")) ?? "")?.[1];
        kubelet = { kind: "present", server, caSha256 };
    }
    else if (kubeletLines[0] === "absent") kubelet = { kind: "absent" };
    else kubelet = { kind: "unknown" };
    let marker: MachineFacts["marker"];
    const markerText = need("marker").join("\n").trim();
    if (markerText && markerText !== "absent") {
        try {
            const m = JSON.parse(markerText) as Record<string, unknown>;
            marker = {
                clusterId: typeof m.clusterId === "string" ? m.clusterId : undefined,
                nodeId: typeof m.nodeId === "string" ? m.nodeId : undefined,
                endpoint: typeof m.endpoint === "string" ? m.endpoint : undefined,
            };
        } catch {
            marker = {};
        }
    }
    const privilege = (need("privilege")[0] ?? "none").trim();
    return {
        privilege: privilege === "root" || privilege === "sudo" ? privilege : "none",
        kubeadm,
        addresses: parseIpAddr(need("addr")),
        links: parseIpLink(need("link")),
        ...parseMeminfo(need("meminfo")),
        cpus: Number((need("cpus")[0] ?? "0").trim()) || 0,
        listeners: [...parseProcNet(need("tcp"), "tcp"), ...parseProcNet(need("udp"), "udp")],
        disks: need("blocks")
            .map((l) => l.trim().split(/\s+/))
            .filter((c) => c.length >= 2 && /^\d+$/.test(c[1]))
            .map(([name, sectors]) => ({ name, bytes: Number(sectors) * 512 })),
        linkSpeedsMbps: need("speed")
            .map((l) => l.trim().split(/\s+/))
            .filter((c) => c.length === 2)
            .map(([name, speed]) => ({ name, mbps: Number(speed) > 0 ? Number(speed) : 0 })),
        gpus: parseNvidiaSmi(need("gpus")),
        kubelet,
        marker,
        hostname: (need("hostname")[0] ?? "").trim(),
    };
}
