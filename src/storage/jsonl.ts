/**
 * Records of the `jsonl` format: one JSON value a line, blank lines skipped.
 * A malformed line is reported with its file and 1-based line number.
 */
import { MalformedInputError } from './input-formats/input-format.js';
import { fileLineNumber, type FileRange } from './line-reader.js';

/** Thrown from inside a line callback; turned into a LaminateError by jsonlError. */
export class MalformedJsonLine extends Error {
  constructor(readonly lineIndex: number, readonly reason: string) {
    super(reason);
    this.name = 'MalformedJsonLine';
  }
}

/** The record of one line (undefined for a blank line); throws MalformedJsonLine. */
export function parseJsonLine(line: string, lineIndex: number): unknown {
  if (line.trim() === '') return undefined;
  try {
    return JSON.parse(line) as unknown;
  } catch (err) {
    throw new MalformedJsonLine(lineIndex, (err as Error).message);
  }
}

/** The error to raise for a malformed line of `split`, naming the file and line. */
export async function jsonlError(split: FileRange, err: MalformedJsonLine): Promise<MalformedInputError> {
  const line = await fileLineNumber(split, err.lineIndex);
  return new MalformedInputError(`Malformed JSON in ${split.path} at line ${line}: ${err.reason}`);
}
