/**
 * The master's old-generation limit, grown as far as V8's own heuristics go.
 *
 * A master taking 1 MiB Append batches (the producer's default) ran a full
 * mark-compact every ~100 ms with a live heap of about 19 MB: each batch
 * arrives as buffers outside the JS heap (grpc-js gathers a message's HTTP/2
 * chunks into one), the ones held across scavenges while their fsync runs
 * are promoted, and V8 counts their bytes against an old-generation limit it
 * sets from the small live heap with a dynamic growing factor (below 2 here:
 * with the factor held at 2 there were still 41 of 52). 313 mark-compacts in the 42 s of the
 * ingest bench's 10 million records (7 to 13 ms each, on the master's event
 * loop); with the factor held at 4 (V8's own maximum for its dynamic factor,
 * `--heap-growing-percent=300`), 2 instead of 52 in a run of 2 million
 * (bench/README.md, ingest). The heap stays bounded: the limit is at most 4
 * times what survived the last collection, and `--max-old-space-size` caps it.
 *
 * V8 reads the flag each time it sets a limit, so it works set at run time
 * (checked on Node 20), unlike the young generation's size
 * (young-generation.ts). A user's own `--heap-growing-percent` (node's
 * arguments or NODE_OPTIONS) is left as it is.
 */

/** V8's growing factor as 1 + percent/100: 4, the top of the range V8's dynamic factor takes (1.1 to 4). */
export const MASTER_HEAP_GROWING_FLAG = '--heap-growing-percent=300';

const HEAP_GROWING_FLAG = /--heap[-_]growing[-_]percent\b/;

/** Whether the user set the growing factor themselves in `execArgv` or `nodeOptions` (NODE_OPTIONS). Pure. */
export function userSetHeapGrowing(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return execArgv.some((a) => HEAP_GROWING_FLAG.test(a)) || (nodeOptions !== undefined && HEAP_GROWING_FLAG.test(nodeOptions));
}

/**
 * Sets MASTER_HEAP_GROWING_FLAG unless the user set their own: 'user' or
 * 'set'. Called once by `laminate master` (main.ts); a repeat sets the same
 * flag again, harmlessly.
 */
export function growOldGenerationLimit(
  setFlag: (flag: string) => void,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): 'user' | 'set' {
  if (userSetHeapGrowing(execArgv, nodeOptions)) return 'user';
  setFlag(MASTER_HEAP_GROWING_FLAG);
  return 'set';
}
