/** What the client commands share: a client for the command's run, and printing. */
import { LaminateClient } from '../client/laminate-client.js';

/** Where a command prints: one line per call, without its newline. */
export type Print = (line: string) => void;

/** Prints to stdout. */
export const print: Print = (line) => { process.stdout.write(`${line}\n`); };

/** Runs `fn` with a client of `master`, closing it after (also when `fn` throws). */
export async function withClient(master: string, fn: (c: LaminateClient) => Promise<void>): Promise<void> {
  const client = new LaminateClient(master);
  try {
    await fn(client);
  } finally {
    await client.close();
  }
}
