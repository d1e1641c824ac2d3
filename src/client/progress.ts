/**
 * Progress of a job being waited on: bars for maps and reduces in a terminal
 * (cli-progress), a plain line every few seconds otherwise.
 */
import cliProgress from 'cli-progress';
import type { JobStatus } from '../common/job-status.js';
import { progressLine } from './status-format.js';

export interface ProgressView {
  update(s: JobStatus): void;
  stop(): void;
}

export function progressView(stream: NodeJS.WriteStream = process.stderr, plainEveryMs = 2000): ProgressView {
  if (!stream.isTTY) {
    let last = 0;
    return {
      update(s) {
        const now = Date.now();
        if (now - last < plainEveryMs) return;
        last = now;
        stream.write(`${new Date().toISOString()} ${progressLine(s)}\n`);
      },
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar({
    stream, clearOnComplete: false, hideCursor: true,
    format: '{kind} [{bar}] {value}/{total} {note}',
  }, cliProgress.Presets.shades_classic);
  let maps: cliProgress.SingleBar | undefined;
  let reduces: cliProgress.SingleBar | undefined;
  return {
    update(s) {
      maps ??= multi.create(s.maps?.total ?? 0, 0, { kind: 'maps   ', note: '' });
      reduces ??= multi.create(s.reduces?.total ?? 0, 0, { kind: 'reduces', note: '' });
      maps.update(s.maps?.succeeded ?? 0, { note: `${s.maps?.running ?? 0} running ${s.message}` });
      reduces.update(s.reduces?.succeeded ?? 0, { note: `${s.reduces?.running ?? 0} running` });
    },
    stop() {
      multi.stop();
    },
  };
}
