/**
 * The GNU coreutils baselines, as argv for measureCommand. Both run in the C
 * locale (byte order), the way the issue states them; sort keeps its own
 * defaults (buffer size, temporary folder) apart from --parallel=2.
 */

/** `LC_ALL=C tr -cs 'A-Za-z' '\n' | sort | uniq -c`, input and output files as arguments. */
export function wordcountPipeline(input: string, output: string): string[] {
  return ['bash', '-c', `set -o pipefail; export LC_ALL=C; tr -cs 'A-Za-z' '\\n' < "$1" | sort | uniq -c > "$2"`, 'gnu-wordcount', input, output];
}

/** `LC_ALL=C sort --parallel=2 -o OUTPUT INPUT`. */
export function gnuSort(input: string, output: string): string[] {
  return ['env', 'LC_ALL=C', 'sort', '--parallel=2', '-o', output, input];
}
