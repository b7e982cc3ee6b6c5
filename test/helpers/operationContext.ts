import type { OperationContext } from "../../components/provider/handler";

/** An OperationContext that records what an operation told the user. */
export function recordingContext(name: string, kubeconfig?: string): OperationContext & { lines: string[]; status: string[] } {
    const lines: string[] = [];
    const status: string[] = [];
    return {
        name,
        lines,
        status,
        kubeconfig: () => {
            if (kubeconfig === undefined) throw new Error(`${name}: no kubeconfig in this test`);
            return kubeconfig;
        },
        info: (m) => void lines.push(m),
        progress: (m) => void status.push(m),
    };
}
