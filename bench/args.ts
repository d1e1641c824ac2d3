/** Flags of the standalone bench scripts (`--name VALUE`): each says what it expected and what it got. */

/** `--name N`, a positive number (a positive integer with `integer`), or `dflt` when absent. */
export function numberArg(name: string, dflt: number, integer = false): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!(integer ? Number.isSafeInteger(v) : Number.isFinite(v)) || v <= 0) {
    throw new Error(`Expected --${name} to be a positive ${integer ? 'integer' : 'number'}, got '${process.argv[i + 1]}'`);
  }
  return v;
}
