/**
 * Checking what a deploy asks for: the function's name, its settings against
 * FUNCTION_LIMITS (each error says the allowed range), and `--trigger`
 * strings parsed into TriggerSpecs. Pure; called by the catalog on every
 * deploy and by the CLI on its flags (so a bad flag fails before bundling).
 */
import { describe, LaminateError } from '../common/errors.js';
import { FUNCTION_LIMITS, type FunctionConfig, type TriggerSpec } from '../common/function-shapes.js';

/** Function names: as dataset names (a name may be both), so that they fit in paths and URLs. */
export const FUNCTION_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Dataset names, as the dataset store accepts them (src/dataset/catalog.ts, which this folder may not import). */
const DATASET_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Invocations of one function at once: at most this many (the cluster's capacity bounds them further). */
export const MAX_CONCURRENCY = 1_000;

/** Defaults of what a deploy leaves out (Lambda's: 128 MB, 3 s, 2 retries). */
export const FUNCTION_DEFAULTS = { memoryMb: 128, timeoutMs: 3_000, concurrency: 10, retries: 2, batchSize: 100 } as const;

/** What a deploy may leave out; validateFunctionConfig fills it. */
export interface FunctionConfigInput {
  readonly memoryMb?: number;
  readonly timeoutMs?: number;
  readonly concurrency?: number;
  readonly retries?: number;
  readonly deadLetter?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly triggers?: readonly TriggerSpec[];
}

/** @throws LaminateError INVALID_ARGUMENT naming the expected form. */
export function validateFunctionName(name: unknown): string {
  if (typeof name !== 'string' || !FUNCTION_NAME_RE.test(name)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a function name of letters, digits, '.', '_' and '-' (at most 128, starting with a letter or digit), got ${describe(name)}`);
  }
  return name;
}

function intIn(flag: string, value: number, min: number, max: number, unit = ''): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${flag} to be a whole number from ${min}${unit} to ${max}${unit}, got ${describe(value)}`);
  }
  return value;
}

/**
 * A complete config from a deploy's input, every default filled.
 * @throws LaminateError INVALID_ARGUMENT for a value out of its range (the message gives the range).
 */
export function validateFunctionConfig(input: FunctionConfigInput): FunctionConfig {
  const L = FUNCTION_LIMITS;
  const memoryMb = intIn('--memory', input.memoryMb ?? FUNCTION_DEFAULTS.memoryMb, L.minMemoryMb, L.maxMemoryMb, ' MB');
  const timeoutMs = input.timeoutMs ?? FUNCTION_DEFAULTS.timeoutMs;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < L.minTimeoutMs || timeoutMs > L.maxTimeoutMs) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected --timeout to be from ${L.minTimeoutMs / 1000}s to ${L.maxTimeoutMs / 1000}s (${L.minTimeoutMs} to ${L.maxTimeoutMs} ms), got ${describe(timeoutMs)} ms`);
  }
  const concurrency = intIn('--concurrency', input.concurrency ?? FUNCTION_DEFAULTS.concurrency, 1, MAX_CONCURRENCY);
  const retries = intIn('--retries', input.retries ?? FUNCTION_DEFAULTS.retries, 0, L.maxRetries);
  const env = input.env ?? {};
  let envBytes = 0;
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME_RE.test(k)) throw new LaminateError('INVALID_ARGUMENT', `Expected --env names of letters, digits and '_' (not starting with a digit), got ${describe(k)}`);
    if (typeof v !== 'string') throw new LaminateError('INVALID_ARGUMENT', `Expected --env ${k} to be a string, got ${describe(v)}`);
    envBytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (envBytes > L.maxEnvBytes) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the environment to be at most ${L.maxEnvBytes} bytes (names and values together), got ${envBytes}`);
  }
  if (input.deadLetter !== undefined && !DATASET_NAME_RE.test(input.deadLetter)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected --dead-letter to be dataset:NAME with a dataset name, got ${describe(input.deadLetter)}`);
  }
  const triggers = (input.triggers ?? []).map(validateTrigger);
  const kinds = new Set<string>();
  for (const t of triggers) {
    const key = JSON.stringify(t);
    if (kinds.has(key)) throw new LaminateError('INVALID_ARGUMENT', `Expected each trigger once, got ${describeTrigger(t)} twice`);
    kinds.add(key);
  }
  return { memoryMb, timeoutMs, concurrency, retries, ...(input.deadLetter === undefined ? {} : { deadLetter: input.deadLetter }), env: { ...env }, triggers };
}

const TRIGGER_FORMS = 'dataset:NAME, view:NAME, files:DIR, http, schedule:every 5m or schedule:CRON (five fields, UTC)';
const RATE_RE = /^every\s+(\d+)\s*(s|m|h|d)$/;
const CRON_FIELD_RE = /^[0-9*/,-]+$/;

/** True for `every 5m`-style rates (seconds to days) and five-field cron expressions of digits, `*`, `/`, `,`, `-`. */
export function isScheduleExpression(expression: string): boolean {
  const rate = RATE_RE.exec(expression.trim());
  if (rate) return Number(rate[1]) > 0;
  const fields = expression.trim().split(/\s+/);
  return fields.length === 5 && fields.every((f) => CRON_FIELD_RE.test(f));
}

/**
 * Parses one `--trigger` value. `batchSize` applies to a dataset trigger.
 * @throws LaminateError INVALID_ARGUMENT for an unknown kind or a malformed one, listing the forms.
 */
export function parseTrigger(value: string, batchSize: number = FUNCTION_DEFAULTS.batchSize): TriggerSpec {
  const v = value.trim();
  if (v === 'http') return { kind: 'http' };
  const colon = v.indexOf(':');
  const kind = colon < 0 ? v : v.slice(0, colon);
  const arg = colon < 0 ? '' : v.slice(colon + 1).trim();
  switch (kind) {
    case 'dataset': return validateTrigger({ kind: 'dataset', dataset: arg, batchSize });
    case 'view': return validateTrigger({ kind: 'view', view: arg });
    case 'files': return validateTrigger({ kind: 'files', dir: arg });
    case 'schedule': return validateTrigger({ kind: 'schedule', expression: arg });
    default:
      throw new LaminateError('INVALID_ARGUMENT', `Unknown trigger ${describe(value)}: expected one of ${TRIGGER_FORMS}`);
  }
}

/** Checks a TriggerSpec as it came (from a client's request, or parseTrigger). */
export function validateTrigger(t: TriggerSpec): TriggerSpec {
  switch (t.kind) {
    case 'dataset':
      if (!DATASET_NAME_RE.test(t.dataset)) throw new LaminateError('INVALID_ARGUMENT', `Expected trigger dataset:NAME with a dataset name, got ${describe(t.dataset)}`);
      intIn('--batch-size', t.batchSize, 1, FUNCTION_LIMITS.maxBatchSize);
      return { kind: 'dataset', dataset: t.dataset, batchSize: t.batchSize };
    case 'view':
      if (!DATASET_NAME_RE.test(t.view)) throw new LaminateError('INVALID_ARGUMENT', `Expected trigger view:NAME with a view name, got ${describe(t.view)}`);
      return { kind: 'view', view: t.view };
    case 'files':
      if (t.dir === '') throw new LaminateError('INVALID_ARGUMENT', 'Expected trigger files:DIR with a folder, got an empty one');
      return { kind: 'files', dir: t.dir };
    case 'http':
      return { kind: 'http' };
    case 'schedule':
      if (!isScheduleExpression(t.expression)) {
        throw new LaminateError('INVALID_ARGUMENT', `Expected trigger schedule:every N(s|m|h|d) or schedule:CRON with five fields (minute hour day month weekday, UTC), got ${describe(t.expression)}`);
      }
      return { kind: 'schedule', expression: t.expression.trim().replace(/\s+/g, ' ') };
    default:
      throw new LaminateError('INVALID_ARGUMENT', `Unknown trigger kind ${describe((t as { kind?: unknown }).kind)}: expected one of ${TRIGGER_FORMS}`);
  }
}

/** A trigger as `--trigger` spells it. */
export function describeTrigger(t: TriggerSpec): string {
  switch (t.kind) {
    case 'dataset': return `dataset:${t.dataset}`;
    case 'view': return `view:${t.view}`;
    case 'files': return `files:${t.dir}`;
    case 'http': return 'http';
    case 'schedule': return `schedule:${t.expression}`;
  }
}

/**
 * `--timeout` values: `3s`, `500ms`, `2m`, or a number of ms.
 * @throws LaminateError INVALID_ARGUMENT for anything else.
 */
export function parseTimeout(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new LaminateError('INVALID_ARGUMENT', `Expected --timeout as 3s, 500ms, 2m or a number of ms, got ${describe(value)}`);
  const n = Number(m[1]);
  return Math.round(m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n);
}

/**
 * `--env KEY=VALUE` values, collected (a later KEY wins).
 * @throws LaminateError INVALID_ARGUMENT without an '='.
 */
export function parseEnvPair(value: string, into: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new LaminateError('INVALID_ARGUMENT', `Expected --env KEY=VALUE, got ${describe(value)}`);
  return { ...into, [value.slice(0, eq)]: value.slice(eq + 1) };
}
