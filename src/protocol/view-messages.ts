/**
 * The wire messages of the Views and Serving services (proto/laminate.proto)
 * as TypeScript types, as proto-loader decodes them (see load.ts): camelCase,
 * int64 as number, defaults filled, a proto3 `optional` field present only
 * when sent.
 */
export interface DeployViewRequest {
  name: string; bundle: Buffer; source: string; definitionHash: string; merge: string; partitions: number; everyMs: number; keep: number;
  windowSizeMs: number;
}
export interface ViewInfo {
  name: string; source: string; definitionHash: string; merge: string; partitions: number; everyMs: number; keep: number;
  currentVersion: number; currentCut: number[]; deployedAtMs: number; lastBuildError: string;
}
export interface ViewList { views: ViewInfo[] }
export interface BuildViewRequest { name: string; cut: number[]; full: boolean; wait: boolean }
export interface ViewBuild {
  view: string; version: number; cut: number[]; jobId: string; state: string; error: string; incremental: boolean; baseVersion: number;
}
export interface ViewVersionsRequest { name: string }
export interface ViewVersionInfo {
  version: number; cut: number[]; records: number; keys: number; bytes: number; jobId: string; builtAtMs: number;
  current: boolean; servedBy: string[]; definitionHash: string; refusedBy: string[];
}
export interface ViewHistoryEvent { atMs: number; event: string; version: number; detail: string }
export interface ViewVersionList { view: string; versions: ViewVersionInfo[]; builds: ViewBuild[]; history: ViewHistoryEvent[] }
export interface LoadedVersion { view: string; version: number }
export interface ServingHeartbeatRequest {
  nodeId: string; address: string; loaded: LoadedVersion[]; refused: LoadedVersion[]; refusalReason: string; current: LoadedVersion[]; leaving: boolean;
}
export interface ServedVersion { version: number; cut: number[]; dir: string }
export interface SpeedLocation { nodeId: string; address: string; partitions: number[] }
export interface ServedView {
  view: string; merge: string; current: number; versions: ServedVersion[]; speed: SpeedLocation[]; windowSizeMs: number; sourcePartitions: number;
}
export interface ServingAssignment { views: ServedView[] }
export interface ServingNode { nodeId: string; address: string; lastHeardMs: number; loaded: LoadedVersion[] }
export interface ServingNodeList { nodes: ServingNode[] }

export interface GetRequest { view: string; keys: Buffer[]; version: number; batchOnly: boolean; atLeast: number[]; waitMs: number }
export interface ViewEntry { key: Buffer; value: Buffer; found: boolean; final?: boolean }
export interface UncoveredPartition { partition: number; reason: string }
export interface Coverage {
  version: number; cut: number[]; hasSpeed: boolean; speed: number[]; lag: number; freshnessMs: number;
  uncovered: UncoveredPartition[]; watermark?: number;
}
export interface GetResponse { view: string; coverage: Coverage | null; entries: ViewEntry[]; packed: Buffer }
export interface GetStreamRequest { id: number; get: GetRequest | null; batch?: GetStreamRequest[] }
export interface GetStreamResponse { id: number; answer: GetResponse | null; errorCode: string; errorMessage: string; batch?: GetStreamResponse[] }
export interface ScanRequest {
  view: string; version: number; prefix: Buffer; from?: Buffer; to?: Buffer; limit: number; batchOnly: boolean; atLeast: number[]; waitMs: number;
}
export interface ScanChunk { view: string; coverage: Coverage | null; entries: ViewEntry[]; packed: Buffer }
export interface RollbackViewRequest { name: string; to: number }
export interface DiffViewRequest { name: string; a: number; b: number; examples: number }
export interface ViewDiff {
  view: string; a: number; b: number; added: number; removed: number; changed: number; unchanged: number;
  addedKeys: string[]; removedKeys: string[]; changedKeys: string[];
}

// ---- Speed layer (Views.SpeedHeartbeat, Views.ListSpeedNodes, the Speed service) ----
export interface SpeedStopped { offset: number; message: string }
export interface SpeedPartitionReport {
  partition: number; applied: number; start: number; end: number; caughtUpAtMs: number; stopped: SpeedStopped | null; busy: string;
}
export interface SpeedViewReport { view: string; definitionHash: string; partitions: SpeedPartitionReport[]; watermark?: number }
export interface SpeedHeartbeatRequest { nodeId: string; address: string; views: SpeedViewReport[]; leaving: boolean }
export interface SpeedCut { offsets: number[] }
export interface SpeedViewAssignment {
  view: string; source: string; bundleHash: string; definitionHash: string; merge: string; partitions: number[]; cuts: SpeedCut[]; handoffCut: number[];
}
export interface SpeedAssignment { views: SpeedViewAssignment[] }
export interface SpeedViewPartitions { view: string; partitions: number[] }
export interface SpeedNodeInfo { nodeId: string; address: string; lastHeardMs: number; views: SpeedViewReport[]; assigned: SpeedViewPartitions[] }
export interface HandoffHolder { nodeId: string; version: number; live: boolean; lastHeardMs: number }
export interface SpeedHandoff { view: string; handoffCut: number[]; cuts: SpeedCut[]; currentVersion: number; heldBy: HandoffHolder[] }
export interface SpeedNodeList { nodes: SpeedNodeInfo[]; handoffs: SpeedHandoff[] }
export interface ForgetServingNodeRequest { nodeId: string }
export interface ForgetServingNodeResponse { forgotten: boolean }
export interface SpeedGetRequest { view: string; cut: number[]; keys: Buffer[]; base: Buffer[]; atLeast: number[]; waitMs: number; definitionHash: string }
export interface SpeedScanRequest { view: string; cut: number[]; prefix: Buffer; from?: Buffer; to?: Buffer; limit: number; definitionHash: string }
export interface SpeedPartitionCoverage { partition: number; applied: number; lag: number; caughtUpAtMs: number; uncovered: string }
export interface SpeedEntry { key: Buffer; acc: Buffer }
export interface SpeedAnswer { view: string; partitions: SpeedPartitionCoverage[]; entries: SpeedEntry[]; watermark?: number }
