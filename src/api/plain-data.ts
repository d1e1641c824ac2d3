/**
 * Accumulators as values: whether one is plain data (what msgpack carries
 * unchanged), whether two are equal, and how to show one in a message. Used
 * by the monoid law check; pure.
 */

/**
 * Where `v` stops being plain data (null, booleans, numbers, strings,
 * Uint8Array, arrays and plain objects of those), as 'a Map at [2].x'; or
 * undefined when it is plain. undefined, functions, symbols, bigints, Maps,
 * Sets, Dates and class instances are not: msgpack would change them
 * (a Map comes back as an object, a Set or a class instance not at all as it
 * was), so a view would read back something else than it merged.
 */
export function findNonPlainData(v: unknown, path = ''): string | undefined {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return undefined;
  if (v instanceof Uint8Array) return undefined;
  const at = path === '' ? '' : ` at ${path}`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = findNonPlainData(v[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return `a ${name}${at}`;
    }
    for (const [k, x] of Object.entries(v)) {
      const found = findNonPlainData(x, path === '' ? k : `${path}.${k}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return `${v === undefined ? 'undefined' : `a ${typeof v}`}${at}`;
}

/** How numbers compare in plainDataEqual: exactly, or within tolerance x scale. */
export interface NumberComparison {
  /** Compare exactly (every number the operands hold was a safe integer, so no rounding happened). */
  readonly exact: boolean;
  /** The largest magnitude among the operands: floating-point error grows with it. */
  readonly scale: number;
  readonly relativeTolerance: number;
}

/**
 * How to compare results computed from `operands`: exactly when every number
 * in them is a safe integer, else within `relativeTolerance` of the largest
 * magnitude among them (float addition rounds each step by up to half an ulp
 * of its operands, so reordering moves a sum by a few ulps of the largest
 * magnitude involved, not of the result, which may be near 0).
 */
export function numberComparison(operands: readonly unknown[], relativeTolerance: number): NumberComparison {
  let scale = 0;
  let exact = true;
  const visit = (v: unknown): void => {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) exact = false;
      if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    } else if (Array.isArray(v)) {
      for (const x of v) visit(x);
    } else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
      for (const x of Object.values(v)) visit(x);
    }
  };
  for (const o of operands) visit(o);
  return { exact, scale, relativeTolerance };
}

/**
 * Deep equality of plain data: Uint8Arrays (Buffers too) by bytes, arrays by
 * element, objects by the same keys in any order, numbers as `numbers` says
 * (NaN equals NaN; -0 equals 0).
 */
export function plainDataEqual(a: unknown, b: unknown, numbers: NumberComparison): boolean {
  if (typeof a === 'number' && typeof b === 'number') return numbersEqual(a, b, numbers);
  if (a === b) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!plainDataEqual(a[i], b[i], numbers)) return false;
    return true;
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  const ra = a as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && plainDataEqual(ra[k], rb[k], numbers));
}

function numbersEqual(x: number, y: number, c: NumberComparison): boolean {
  if (x === y || (Number.isNaN(x) && Number.isNaN(y))) return true;
  if (c.exact || !Number.isFinite(x) || !Number.isFinite(y)) return false;
  return Math.abs(x - y) <= c.relativeTolerance * Math.max(c.scale, Math.abs(x), Math.abs(y));
}

/**
 * A short, readable form of a value for an error message: JSON-like, with
 * -0, NaN and infinities spelt out, bytes as hex, and at most about
 * `maxChars` characters (the rest elided with '...').
 */
export function formatValue(v: unknown, maxChars = 160): string {
  const s = format(v, maxChars + 1);
  return s.length > maxChars ? `${s.slice(0, maxChars)}...` : s;
}

function format(v: unknown, budget: number): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function' || typeof v === 'symbol') return `a ${typeof v}`;
  if (v instanceof Uint8Array) {
    const shown = Array.from(v.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
    return `<${v.length} bytes${v.length > 0 ? `: ${shown}${v.length > 16 ? '...' : ''}` : ''}>`;
  }
  if (!Array.isArray(v)) {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return v instanceof Map || v instanceof Set ? `a ${name} of ${v.size}` : `a ${name}`;
    }
  }
  const parts: string[] = [];
  let used = 2;
  const entries: Array<[string | undefined, unknown]> = Array.isArray(v) ? v.map((x) => [undefined, x]) : Object.entries(v);
  for (const [k, x] of entries) {
    if (used >= budget) break;
    const part = (k === undefined ? '' : `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: `) + format(x, budget - used);
    parts.push(part);
    used += part.length + 2;
  }
  const open = Array.isArray(v) ? '[' : '{';
  const close = Array.isArray(v) ? ']' : '}';
  const elided = parts.length < entries.length ? ', ...' : '';
  return `${open}${parts.join(', ')}${elided}${close}`;
}
