/**
 * The floor for any JavaScript word count: one process, no framework, the
 * loop of wordcount-loop.ts over the whole file; writes `word<TAB>count`
 * lines.
 *
 *   node dist/bench/baselines/wordcount-floor.js INPUT OUTPUT
 */
import { writeFileSync } from 'node:fs';
import { countWords, formatCounts } from './wordcount-loop.js';

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: wordcount-floor INPUT OUTPUT');
writeFileSync(output, formatCounts(countWords(input)));
