/**
 * How a job's input is cut into the records map sees. For files: `text` a
 * line without its line ending, `whole` a whole file's contents, `jsonl` the
 * parsed value of a line. `dataset` is the input of jobs over a dataset
 * (`--input dataset:NAME[@CUT]`): each record is the JSON value it was
 * appended as. Shared by the user API, storage (the formats themselves), the
 * master (job specs) and the client (sampling).
 */
export type FileInputFormat = 'text' | 'whole' | 'jsonl';
export type InputFormat = FileInputFormat | 'dataset';

/** The formats of file inputs, as `--format` offers them, in the order help texts list them. */
export const FILE_INPUT_FORMATS: readonly FileInputFormat[] = ['text', 'whole', 'jsonl'];

/** Every input format. `dataset` is never given with --format: dataset inputs imply it. */
export const INPUT_FORMATS: readonly InputFormat[] = [...FILE_INPUT_FORMATS, 'dataset'];

export function isFileInputFormat(format: string): format is FileInputFormat {
  return (FILE_INPUT_FORMATS as readonly string[]).includes(format);
}
