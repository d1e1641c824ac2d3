export { defineJob } from './api/job.js';
export type { Job, Emit, TaskContext, InputFormat } from './api/job.js';
export { defineView } from './api/view.js';
export type { ViewDefinition, ViewEmit, ViewWindow, Duration, ViewKey, KeyElement } from './api/view.js';
export { sum, count, min, max, setUnion, topK, hll } from './api/monoids.js';
export type { TopKItem, ItemCounts } from './api/monoids.js';
export type { Monoid, MonoidLike } from './api/monoid.js';
export { checkMonoidLaws } from './api/monoid-laws.js';
export type { LawCheckOptions, LawCheckResult, LawViolation, MonoidLaw } from './api/monoid-laws.js';
export { NonRetryableError, LaminateError } from './common/errors.js';
export type { ErrorCode } from './common/errors.js';
export { defineFunction } from './api/function.js';
export type {
  FunctionContext, FunctionLogger, FunctionHandler, FunctionDefinition, DatasetEvent, ViewPublishedEvent, FileEvent, ScheduledEvent, HttpEvent,
} from './api/function.js';
