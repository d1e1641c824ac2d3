import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTION_LIMITS } from '../../../src/common/function-shapes.js';
import { loadMasterKey, openCode, sealCode, unwrapDataKey } from '../../../src/functions/code-crypto.js';
import { FunctionCatalog, VERSIONS_KEPT } from '../../../src/functions/function-catalog.js';
import { parseTimeout, parseTrigger, validateFunctionConfig } from '../../../src/functions/function-config.js';
import type { FunctionChange } from '../../../src/functions/invoker.js';
import { rejectsWith, throwsWith, useTempDirs } from '../storage/helpers.js';

const MARKER = 'marker-7f3a9c-the-code-of-a-function';
const code = (n: number): Buffer => Buffer.from(`export default { kind: 'laminate-function', handler: () => '${MARKER}-${n}' };`);

describe('function settings', () => {
  it('fills defaults, and says the allowed range of each setting out of it', () => {
    expect(validateFunctionConfig({})).toEqual({ memoryMb: 128, timeoutMs: 3000, concurrency: 10, retries: 2, env: {}, triggers: [] });
    throwsWith(() => validateFunctionConfig({ memoryMb: 64 }), 'INVALID_ARGUMENT', /--memory .*from 128 MB to 10240 MB, got 64/);
    throwsWith(() => validateFunctionConfig({ memoryMb: 20_000 }), 'INVALID_ARGUMENT', /10240 MB/);
    throwsWith(() => validateFunctionConfig({ timeoutMs: 500 }), 'INVALID_ARGUMENT', /--timeout .*from 1s to 900s.*got 500 ms/);
    throwsWith(() => validateFunctionConfig({ timeoutMs: 901_000 }), 'INVALID_ARGUMENT', /900s/);
    throwsWith(() => validateFunctionConfig({ retries: 3 }), 'INVALID_ARGUMENT', /--retries .*from 0 to 2/);
    throwsWith(() => validateFunctionConfig({ concurrency: 0 }), 'INVALID_ARGUMENT', /--concurrency .*from 1 to 1000/);
    throwsWith(() => validateFunctionConfig({ env: { 'A-B': 'x' } }), 'INVALID_ARGUMENT', /--env names/);
    throwsWith(() => validateFunctionConfig({ env: { BIG: 'x'.repeat(FUNCTION_LIMITS.maxEnvBytes) } }), 'INVALID_ARGUMENT', /at most 4096 bytes/);
    throwsWith(() => validateFunctionConfig({ deadLetter: 'no way' }), 'INVALID_ARGUMENT', /--dead-letter/);
    expect(validateFunctionConfig({ memoryMb: 256, timeoutMs: 900_000, retries: 0, env: { KEY: 'v' }, deadLetter: 'dlq' }))
      .toMatchObject({ memoryMb: 256, timeoutMs: 900_000, retries: 0, env: { KEY: 'v' }, deadLetter: 'dlq' });
  });

  it('parses the five trigger forms and refuses an unknown one, listing the forms', () => {
    expect(parseTrigger('dataset:logs', 500)).toEqual({ kind: 'dataset', dataset: 'logs', batchSize: 500 });
    expect(parseTrigger('view:pages')).toEqual({ kind: 'view', view: 'pages' });
    expect(parseTrigger('files:/tmp/in box')).toEqual({ kind: 'files', dir: '/tmp/in box' });
    expect(parseTrigger('http')).toEqual({ kind: 'http' });
    expect(parseTrigger('schedule:every 1m')).toEqual({ kind: 'schedule', expression: 'every 1m' });
    expect(parseTrigger('schedule:*/5  0 * * 1-5')).toEqual({ kind: 'schedule', expression: '*/5 0 * * 1-5' });
    throwsWith(() => parseTrigger('kafka:topic'), 'INVALID_ARGUMENT', /Unknown trigger 'kafka:topic': expected one of dataset:NAME, view:NAME, files:DIR, http, schedule/);
    throwsWith(() => parseTrigger('schedule:sometimes'), 'INVALID_ARGUMENT', /five fields/);
    throwsWith(() => parseTrigger('dataset:'), 'INVALID_ARGUMENT', /dataset:NAME/);
    throwsWith(() => parseTrigger('dataset:logs', 20_000), 'INVALID_ARGUMENT', /--batch-size .*from 1 to 10000/);
    throwsWith(() => validateFunctionConfig({ triggers: [{ kind: 'http' }, { kind: 'http' }] }), 'INVALID_ARGUMENT', /http twice/);
    expect(parseTimeout('3s')).toBe(3000);
    expect(parseTimeout('250ms')).toBe(250);
    expect(parseTimeout('2m')).toBe(120_000);
    expect(parseTimeout('1500')).toBe(1500);
    throwsWith(() => parseTimeout('soon'), 'INVALID_ARGUMENT', /--timeout/);
  });
});

describe('code encryption', () => {
  const tempDir = useTempDirs();

  it('opens sealed code only with its own data key, unwrapped by the same master key', async () => {
    const dir = await tempDir();
    const { key, generated } = await loadMasterKey(undefined, join(dir, 'master.key'));
    expect(generated).toBe(true);
    expect((await stat(join(dir, 'master.key'))).mode & 0o777).toBe(0o600);
    // Loaded again, the same key.
    expect((await loadMasterKey(undefined, join(dir, 'master.key'))).key.equals(key)).toBe(true);
    const sealed = sealCode(key, code(1));
    expect(sealed.ciphertext.includes(MARKER)).toBe(false);
    expect(openCode(unwrapDataKey(key, sealed.wrappedKey), sealed).equals(code(1))).toBe(true);
    const other = Buffer.alloc(32, 7);
    throwsWith(() => unwrapDataKey(other, sealed.wrappedKey), 'DATA_LOSS', /--key-file/);
    const tampered = Buffer.from(sealed.ciphertext);
    tampered[0] = tampered[0]! ^ 1;
    throwsWith(() => openCode(unwrapDataKey(key, sealed.wrappedKey), { ...sealed, ciphertext: tampered }), 'DATA_LOSS');
  });

  it('reads a --key-file in hex, and refuses one without a key', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'k.hex'), `${'ab'.repeat(32)}\n`);
    expect((await loadMasterKey(join(dir, 'k.hex'), join(dir, 'unused'))).key).toEqual(Buffer.alloc(32, 0xab));
    await writeFile(join(dir, 'bad'), 'short');
    await rejectsWith(loadMasterKey(join(dir, 'bad'), join(dir, 'unused')), 'INVALID_ARGUMENT', /256-bit key/);
    await rejectsWith(loadMasterKey(join(dir, 'missing'), join(dir, 'unused')), 'NOT_FOUND');
    expect(await readdir(dir)).not.toContain('unused');
  });
});

describe('the function catalog', () => {
  const tempDir = useTempDirs();
  const key = Buffer.alloc(32, 3);

  it('makes immutable versions, live = newest, kept across a reopen, code and environment encrypted on disk', async () => {
    const dir = await tempDir();
    const c = await FunctionCatalog.open(dir, key);
    const changes: FunctionChange[] = [];
    c.subscribe((ch) => changes.push(ch));
    const v1 = await c.deploy({ name: 'alerts', code: code(1), config: { memoryMb: 256, triggers: [{ kind: 'http' }] } }, 10);
    const v2 = await c.deploy({ name: 'alerts', code: code(2), config: { timeoutMs: 5000, env: { SECRET: `${MARKER}-env` } } }, 20);
    await c.deploy({ name: 'other', code: code(3), config: {} }, 30);
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(changes.map((ch) => (ch.type === 'deployed' ? `${ch.fn.name}@${ch.fn.version}` : ch.name))).toEqual(['alerts@1', 'alerts@2', 'other@1']);

    const again = await FunctionCatalog.open(dir, key);
    expect(again.list().map((f) => `${f.name}@${f.version}`)).toEqual(['alerts@2', 'other@1']);
    expect(again.version('alerts', 1).config.memoryMb).toBe(256);
    expect(again.version('alerts').config).toMatchObject({ memoryMb: 128, timeoutMs: 5000, env: { SECRET: `${MARKER}-env` } });
    const fetched = await again.code('alerts', 1);
    expect(openCode(fetched.dataKey, fetched).equals(code(1))).toBe(true);
    expect(fetched.codeSha256).toBe(v1.codeSha256);

    for (const name of await readdir(dir, { recursive: true })) {
      const p = join(dir, name);
      if ((await stat(p)).isFile()) expect((await readFile(p)).includes(MARKER), p).toBe(false);
    }
    // With another master key, the catalog does not open (its environments are sealed): the master says so at start.
    await rejectsWith(FunctionCatalog.open(dir, Buffer.alloc(32, 9)), 'DATA_LOSS', /--key-file/);
  });

  it('deletes every version, never reuses a version number, and refuses what it does not know', async () => {
    const dir = await tempDir();
    const c = await FunctionCatalog.open(dir, key);
    await c.deploy({ name: 'f', code: code(1), config: {} }, 1);
    await c.delete('f');
    expect(c.list()).toEqual([]);
    expect(await readdir(join(dir, 'code'))).toEqual([]);
    await rejectsWith(c.delete('f'), 'NOT_FOUND');
    await rejectsWith(c.code('f', 1), 'NOT_FOUND');
    expect(() => c.version('f')).toThrow(/No function 'f'/);
    expect((await c.deploy({ name: 'f', code: code(2), config: {} }, 2)).version).toBe(2);
    expect((await FunctionCatalog.open(dir, key)).versions('f').map((v) => v.version)).toEqual([2]);
    expect(() => c.version('f', 1)).toThrow(/has no version 1 \(it has 2\)/);
    expect(() => c.deploy({ name: 'bad name', code: code(1), config: {} }, 3)).toThrow(/function name/);
    expect(() => c.deploy({ name: 'g', code: code(1), config: { memoryMb: 1 } }, 3)).toThrow(/128 MB to 10240 MB/);
  });

  it('keeps the newest versions only, and removes code no version names at open', async () => {
    const dir = await tempDir();
    const c = await FunctionCatalog.open(dir, key);
    for (let i = 1; i <= VERSIONS_KEPT + 2; i++) await c.deploy({ name: 'f', code: code(i), config: {} }, i);
    expect(c.versions('f').map((v) => v.version)).toEqual(Array.from({ length: VERSIONS_KEPT }, (_, i) => i + 3));
    expect((await readdir(join(dir, 'code'))).length).toBe(VERSIONS_KEPT);
    await writeFile(join(dir, 'code', 'f.v99.bin'), 'left by a crash');
    await FunctionCatalog.open(dir, key);
    expect(await readdir(join(dir, 'code'))).not.toContain('f.v99.bin');
  });
});
