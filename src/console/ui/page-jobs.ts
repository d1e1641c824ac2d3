/**
 * The jobs list (`/jobs`) and a job's page (`/jobs/:id`): progress, timings,
 * counters, failures with their causes, the event timeline of its attempts,
 * and the kill action.
 */
import { callApi } from './api.js';
import type { JobAnswer, JobsAnswer, JobStatus, TaskCounts } from './api-types.js';
import type { TimelineAttempt } from './chart-geometry.js';
import { timelineChart, timelineLegend } from './charts.js';
import { confirmAction } from './confirm.js';
import { badge, facts, h, link, progressBar, section, table, type Child } from './dom.js';
import { formatCount, formatCut, formatDuration, formatPercent, formatTime, isFinalJobState, jobDuration, jobProgress } from './format.js';
import { pageHref } from './routes.js';

function progressOf(job: JobStatus): HTMLElement {
  const p = jobProgress(job.maps, job.reduces, job.state);
  return progressBar(p, formatPercent(p), job.state);
}

function counts(c: TaskCounts | null): string {
  if (c === null) return '-';
  const extra = [c.running > 0 ? `${c.running} running` : '', c.failed > 0 ? `${c.failed} failed` : '', c.killed > 0 ? `${c.killed} killed` : ''].filter((x) => x !== '');
  return `${c.succeeded} / ${c.total}${extra.length === 0 ? '' : ` (${extra.join(', ')})`}`;
}

export function jobsPage(d: JobsAnswer): Child {
  const running = d.jobs.filter((j) => !isFinalJobState(j.state)).length;
  return [
    h('h1', {}, 'Jobs'),
    h('p', { class: 'summary' }, `${d.jobs.length} jobs, ${running} active; newest first.`),
    table(['Job', 'Name', 'State', 'Progress', 'Maps', 'Reduces', 'Submitted', 'Duration'],
      d.jobs.map((j) => [
        link(pageHref('jobs', j.jobId), j.jobId), j.name, badge(j.state), progressOf(j), counts(j.maps), counts(j.reduces),
        formatTime(j.submitMs), formatDuration(jobDuration(j, d.at)),
      ]), 'No job has been submitted.', { id: 'jobs' }),
  ];
}

/** Every attempt of the job, in the timeline's terms. */
function timelineAttempts(job: JobStatus): TimelineAttempt[] {
  return job.tasks.flatMap((t) => t.attempts.map((a) => ({
    attemptId: a.attemptId, taskId: t.taskId, kind: t.kind, workerId: a.workerId, state: a.state,
    startMs: a.startMs, finishMs: a.finishMs, speculative: a.speculative,
    failure: a.failure === null ? '' : `${a.failure.code}: ${a.failure.message}`,
  })));
}

export function jobPage(d: JobAnswer, notify: (text: string) => void): Child {
  const job = d.job;
  const final = isFinalJobState(job.state);
  const kill = final ? null : h('button', {
    type: 'button', class: 'danger', id: 'kill-job',
    onclick: () => confirmAction({
      title: `Kill ${job.jobId}?`,
      message: `Kill job ${job.jobId} (${job.name})? Its running attempts are stopped and its output is not committed. This cannot be undone.`,
      action: 'Kill job',
      run: async () => {
        const r = await callApi<{ killed: boolean }>('POST', `/api/jobs/${encodeURIComponent(job.jobId)}/kill`);
        if (!r.killed) throw new Error(`${job.jobId} was not killed: it had already finished.`);
      },
      done: () => notify(`Asked the master to kill ${job.jobId}.`),
    }),
  }, 'Kill job');
  const attempts = timelineAttempts(job);
  return [
    h('div', { class: 'page-head' }, h('h1', {}, `Job ${job.jobId}`, ' ', badge(job.state)), kill),
    h('div', { id: 'job-progress' }, progressOf(job)),
    job.message === '' ? null : h('p', { class: job.state === 'FAILED' || job.state === 'KILLED' ? 'message bad' : 'message' }, job.message),
    facts([
      ['Name', job.name],
      ['State', h('span', { id: 'job-state' }, job.state)],
      ['Maps', counts(job.maps)],
      ['Reduces', counts(job.reduces)],
      ['Submitted', formatTime(job.submitMs)],
      ['Started', formatTime(job.startMs)],
      ['Finished', formatTime(job.finishMs)],
      ['Duration', formatDuration(jobDuration(job, d.at))],
      ['Output', job.outputDir === '' ? '-' : job.outputDir],
      ...job.cuts.map((c): [string, Child] => [`Cut of ${c.dataset}`, formatCut(c.offsets)]),
    ]),
    section('Event timeline', timelineLegend(), h('div', { class: 'chart-box' }, timelineChart(attempts, job.startMs > 0 ? job.startMs : job.submitMs, d.at))),
    section(`Failures (${job.failures.length})`, table(['Attempt', 'Worker', 'Code', 'Cause'],
      job.failures.map((f) => [f.attemptId, f.workerId, f.code, h('span', { class: 'cause' }, f.message)]), 'No attempt has failed.', { id: 'failures' })),
    section('Counters', table(['Counter', 'Value'], job.counters.map((c) => [c.name, formatCount(c.value)]), 'No counters yet.')),
    section(`Tasks (${job.tasks.length})`, table(['Task', 'Kind', 'State', 'Attempts', 'Duration'],
      job.tasks.map((t) => {
        const last = t.attempts[t.attempts.length - 1];
        return [t.taskId, t.kind, badge(t.state), String(t.attempts.length),
          last === undefined || last.startMs === 0 ? '-' : formatDuration((last.finishMs > 0 ? last.finishMs : d.at) - last.startMs)];
      }), 'No tasks yet.')),
  ];
}
