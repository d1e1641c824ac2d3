/**
 * How a job's input files are cut into the records map sees: `text` a line
 * without its line ending, `whole` a whole file's contents, `jsonl` the parsed
 * object of a line. Shared by the user API, storage (splits, readers), the
 * master (job specs) and the client (sampling).
 */
export type InputFormat = 'text' | 'whole' | 'jsonl';

/** Every input format, in the order help texts list them. */
export const INPUT_FORMATS: readonly InputFormat[] = ['text', 'whole', 'jsonl'];
