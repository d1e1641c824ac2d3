/**
 * Loading a job bundle inside a container and checking that its default
 * export is a job. A bundle is imported once per container thread.
 */
import { pathToFileURL } from 'node:url';
import type { Job } from '../api/job.js';
import { validateJob } from '../api/validate-job.js';

const loaded = new Map<string, Promise<Job>>();

export function loadJob(bundlePath: string): Promise<Job> {
  let p = loaded.get(bundlePath);
  if (!p) {
    p = import(pathToFileURL(bundlePath).href).then((mod: unknown) => validateJob(mod, 'the job module'));
    loaded.set(bundlePath, p);
  }
  return p;
}
