/**
 * The one order of keys in Laminate: the byte order of their UTF-8 encodings,
 * which is the order of their Unicode code points. Reducers see keys in this
 * order, and part files of a total-order job are sorted by it.
 */

/**
 * Compares two keys by the byte order of their UTF-8 encodings.
 *
 * Called by the map-side sort (once per comparison, the hottest call of a
 * spill) and by anyone who needs keys in reduce order. Pure; safe to call
 * any number of times.
 *
 * JavaScript's `<` compares UTF-16 code units, which agrees with code point
 * order except when a surrogate (U+D800..U+DFFF, half of a character above
 * U+FFFF) meets a code unit in U+E000..U+FFFF: UTF-16 puts the surrogate
 * first, UTF-8 puts it last. Only that case takes the slow branch.
 *
 * Lone surrogates (not well-formed UTF-16) are ordered as their code unit
 * values would be as code points; they encode to U+FFFD, so keys holding
 * them do not round-trip and should not be emitted.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Lift surrogates above U+FFFF so they sort after U+E000..U+FFFF.
        const xs = x < 0xe000 ? x + 0x10000 : x;
        const ys = y < 0xe000 ? y + 0x10000 : y;
        return xs - ys;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/**
 * Compares two byte strings lexicographically (unsigned bytes); the order of
 * encoded keys in sorted runs. Equals `Buffer.compare`. Pure.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
