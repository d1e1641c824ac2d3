export { defineJob } from './api/job.js';
export type { Job, Emit, TaskContext, InputFormat } from './api/job.js';
export { NonRetryableError, LaminateError } from './common/errors.js';
export type { ErrorCode } from './common/errors.js';
