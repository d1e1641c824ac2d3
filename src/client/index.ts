/** The client library: `import { JobClient } from 'laminate/client'`. */
export { JobClient, FINISHED_STATES } from './job-client.js';
export type { SubmitOptions } from './job-client.js';
export type { JobStatus, TaskStatus, AttemptStatus, TaskCounts, WorkerStatus, JobState, TaskState, AttemptState } from '../common/job-status.js';
