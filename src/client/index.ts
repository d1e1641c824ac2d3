/** The client library: `import { LaminateClient, JobClient } from 'laminate/client'`. */
export { LaminateClient } from './laminate-client.js';
export type { AppendOptions, CreateDatasetOptions, LaminateClientOptions, ReadOptions, ReadRecord } from './laminate-client.js';
export type { AppendedRange } from './appended-ranges.js';
export { Producer } from './producer.js';
export type { ViewScan } from './view-queries.js';
export type { Coverage, GetResult, KeyResult, MultiGetResult, QueryOptions, ScanEntry, ScanOptions, UncoveredPartition } from './view-queries.js';
export type { ViewKey, KeyElement } from '../common/view-key.js';
export type { RecordAck } from './producer.js';
export type { PartitionKey, ProducerOptions } from './producer-options.js';
export type { DatasetDescription, PartitionDescription } from '../protocol/dataset-rpc.js';
export type { DatasetRecord } from '../storage/record-body.js';
export { LaminateError } from '../common/errors.js';
export type { ErrorCode } from '../common/errors.js';
export { JobClient, FINISHED_STATES } from './job-client.js';
export type { SubmitOptions } from './job-client.js';
export type { JobStatus, TaskStatus, AttemptStatus, TaskCounts, WorkerStatus, JobState, TaskState, AttemptState } from '../common/job-status.js';
/** Access control: call `configureSecurity(await loadSecurity({ tokenFile, tlsCa }).then((s) => s.config))` once, before creating clients. */
export { configureSecurity } from '../protocol/security.js';
export type { SecurityConfig } from '../protocol/security.js';
export { loadSecurity } from '../protocol/security-files.js';
export type { SecurityFlags } from '../protocol/security-files.js';
export type { DeployFunctionOptions } from './function-admin.js';
export type {
  FunctionConfig, FunctionLogLine, FunctionMetrics, FunctionSummary, FunctionVersionInfo, InvocationErrorCode, InvocationOutcome, TriggerSpec,
} from '../common/function-shapes.js';
