import { JoinTokenLedger } from "../../components/join/tokenLedger";
import type { OperationContext } from "../../components/provider/handler";

/** An OperationContext that records what an operation told the user. */
export function recordingContext(name: string, kubeconfig?: string, privateKey?: string): OperationContext & { lines: string[]; warnings: string[]; status: string[] } {
    const lines: string[] = [];
    const warnings: string[] = [];
    const status: string[] = [];
    return {
        name,
        lines,
        warnings,
        status,
        kubeconfig: () => {
            if (kubeconfig === undefined) throw new Error(`${name}: no kubeconfig in this test`);
            return kubeconfig;
        },
        ssh: (stored) => {
            const key = stored.privateKey ?? privateKey;
            if (key === undefined) throw new Error(`${name}: no SSH key in this test`);
            return { ...stored, privateKey: key };
        },
        info: (m) => void lines.push(m),
        warn: (m) => void warnings.push(m),
        progress: (m) => void status.push(m),
        joinTokens: new JoinTokenLedger(),
    };
}
