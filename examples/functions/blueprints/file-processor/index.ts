/**
 * file-processor: runs for each file created in (or removed from) a watched
 * folder, counts the lines and bytes of a new one, and appends a summary.
 *
 *   laminate function deploy index.ts --master HOST:PORT --name incoming-files \
 *     --trigger files:/data/incoming --memory 256 --timeout 30s --dead-letter dataset:incoming-failed
 */
import { readFile } from 'node:fs/promises';
import { defineFunction, type FileEvent } from 'laminate';

export default defineFunction(async (event: FileEvent, ctx) => {
  if (event.type === 'removed') {
    ctx.log.info(`${event.path} was removed`);
    return { path: event.path, removed: true };
  }
  const text = await readFile(event.path, 'utf8');
  const lines = text === '' ? 0 : text.split('\n').filter((l) => l !== '').length;
  const summary = { path: event.path, bytes: event.size, lines, eventId: ctx.eventId };
  await ctx.emit(process.env.SUMMARY_DATASET ?? 'file-summaries', summary);
  return summary;
});
