import type { Job } from './job.js';
import { describe, LaminateError } from '../common/errors.js';

/** Checks the shape of a module's default export; throws INVALID_ARGUMENT naming what is wrong. */
export function validateJob(mod: unknown, where: string): Job {
  const job = (mod as { default?: unknown } | null)?.default;
  if (job === null || typeof job !== 'object') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${where} to export default a job object with map and reduce, got ${describe(job)}`);
  }
  const j = job as Record<string, unknown>;
  for (const fn of ['map', 'reduce'] as const) {
    if (typeof j[fn] !== 'function') {
      throw new LaminateError('INVALID_ARGUMENT', `Expected the job in ${where} to have a ${fn} function, got ${describe(j[fn])}`);
    }
  }
  for (const fn of ['combine', 'partition', 'mergeOutput'] as const) {
    if (j[fn] !== undefined && typeof j[fn] !== 'function') {
      throw new LaminateError('INVALID_ARGUMENT', `Expected the job's ${fn} in ${where} to be a function when given, got ${describe(j[fn])}`);
    }
  }
  if (j.output !== undefined && j.output !== 'text' && j.output !== 'view') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the job's output in ${where} to be 'text' or 'view' when given, got ${describe(j.output)}`);
  }
  return job as Job;
}
