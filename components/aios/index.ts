// The AIOS client layer: plain async clients of the cluster registry, the parser and the
// cluster-controller gateway (no Pulumi here; used at preview time and by the provider plugin).
export { AiosError, requestJson, safeUrl } from "./http";
export type { AiosErrorFields, AiosErrorKind, AiosService, HttpOptions, JsonRequest, JsonResponse, RetryInfo } from "./http";
export { clusterDocumentSchema, nodeDocumentSchema, nodeEntrySchema, parseClusterDocument, parseNodeDocument } from "./schemas";
export type { ClusterDocument, NodeDocument, NodeEntry, ParseResult } from "./schemas";
export { nodeDataUpdate, RegistryClient } from "./registry";
export type { MongoUpdate, RemoveNodeEntryResult } from "./registry";
export { ParserClient } from "./parser";
export type { AddNodeResult } from "./parser";
export { GatewayClient, reasonText } from "./gateway";
export type { JoinMode, JoinNodeOptions, PolicyDecision, PolicyScope } from "./gateway";
export { parseJoinCommand, redactSecrets, REDACTED_TOKEN } from "./secrets";
export type { JoinCommand } from "./secrets";
