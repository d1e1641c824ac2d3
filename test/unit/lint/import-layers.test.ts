/**
 * The source layout's import rules (DESIGN.md, "Source layout"), as
 * eslint.config.js enforces them in `npm test`: these tests lint small
 * in-memory files with the project's own config, so a rule that stops biting
 * fails here rather than rotting quietly.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** DESIGN.md's table, written out again: who may import whom (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  common: [],
  api: ['common'],
  protocol: ['common'],
  scheduler: ['common'],
  storage: ['common'],
  dataset: ['common', 'storage'],
  view: ['common', 'api', 'storage'],
  // The master wires the functions' catalog and invocation service (issue 10).
  // ... and serves the console (issue 11).
  master: ['common', 'api', 'protocol', 'scheduler', 'storage', 'dataset', 'view', 'functions', 'console'],
  worker: ['common', 'api', 'protocol', 'storage', 'dataset', 'view'],
  client: ['common', 'api', 'protocol', 'storage'],
  serving: ['common', 'protocol', 'view'],
  speed: ['common', 'api', 'protocol', 'storage', 'view'],
  functions: ['common', 'protocol', 'storage'],
  // The console's routes (its browser code, src/console/ui/, imports only its own folder: tested below).
  console: ['common', 'protocol'],
  local: ['common', 'api', 'protocol', 'scheduler', 'storage', 'dataset', 'view', 'master', 'worker', 'client', 'serving', 'speed', 'functions', 'console'],
  cli: ['common', 'api', 'protocol', 'scheduler', 'storage', 'dataset', 'view', 'master', 'worker', 'client', 'serving', 'speed', 'functions', 'console', 'local'],
};
const FOLDERS = Object.keys(MAY_IMPORT);

let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({
    cwd: ROOT,
    // The project's config less type information: the layer rules need none,
    // and building it for the whole project costs seconds of every npm test.
    overrideConfig: {
      files: ['**/*.ts'],
      // No program at all: the probe files are made up after any program would be built, so
      // neither `project` nor the project service may be asked for them.
      languageOptions: { parserOptions: { project: null, projectService: false } },
      rules: {
        '@typescript-eslint/no-floating-promises': 'off',
        '@typescript-eslint/no-misused-promises': 'off',
        '@typescript-eslint/await-thenable': 'off',
      },
    },
  });
});

/** Lints `code` with the project's config as the text of `src/<folder>/<file>` (folder '' for src/ itself). */
async function lint(folder: string, code: string, file = 'layer-probe.ts'): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, 'src', folder, file) });
  const fatal = result!.messages.filter((m) => m.fatal);
  if (fatal.length > 0) throw new Error(`Expected the probe to parse, got: ${fatal.map((m) => m.message).join('; ')}`);
  return result!.messages;
}

const layerErrors = (messages: Linter.LintMessage[]): Linter.LintMessage[] =>
  messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax');

describe('the import rules, with the config npm test lints with', () => {
  it('refuse a storage file that imports the scheduler, naming the rule broken', async () => {
    const errors = layerErrors(await lint('storage', "import type { Decision } from '../scheduler/types.js';\nexport type D = Decision;\n"));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.severity).toBe(2);
    expect(errors[0]!.message).toContain('src/storage/ may import src/common/');
    expect(errors[0]!.message).toContain('src/scheduler/ is not one of them');
  });

  it('let a storage file import common', async () => {
    expect(layerErrors(await lint('storage', "import { LaminateError } from '../common/errors.js';\nexport const E = LaminateError;\n"))).toEqual([]);
  });

  it('refuse gRPC in domain code, and allow it in src/protocol/ and the process wiring', async () => {
    const grpc = "import * as grpc from '@grpc/grpc-js';\nexport const S = grpc.status;\n";
    expect(layerErrors(await lint('worker', grpc))[0]?.message).toContain('Only src/protocol/ and the process wiring');
    expect(layerErrors(await lint('storage', grpc))).toHaveLength(1);
    expect(layerErrors(await lint('cli', grpc))).toHaveLength(1);
    expect(layerErrors(await lint('protocol', grpc))).toEqual([]);
    for (const [folder, file] of [['master', 'master.ts'], ['worker', 'worker.ts'], ['client', 'job-client.ts']] as const) {
      expect(layerErrors(await lint(folder, grpc, file)), file).toEqual([]);
    }
  });

  it('refuse a dynamic import across the layers too', async () => {
    const errors = layerErrors(await lint('storage', "export const m = await import('../master/master.js');\n"));
    expect(errors.map((e) => e.ruleId)).toEqual(['no-restricted-syntax']);
  });

  it('keep the console\'s browser code to its own folder: no other part of src/, no package', async () => {
    const refused = [
      "import { SHELL_HTML } from '../pages.js';\nexport const S = SHELL_HTML;\n",
      "import { LaminateError } from '../../common/errors.js';\nexport const E = LaminateError;\n",
      "import { fastify } from 'fastify';\nexport const F = fastify;\n",
    ];
    for (const code of refused) {
      const errors = layerErrors(await lint('console/ui', code));
      expect(errors, code).toHaveLength(1);
      expect(errors[0]!.message).toMatch(/src\/console\/ui\/ (is browser code|has no bundler)/);
    }
    expect(layerErrors(await lint('console/ui', "import { h } from './dom.js';\nexport const H = h;\n"))).toEqual([]);
    // The console's server side keeps its row: protocol yes, the master no.
    expect(layerErrors(await lint('console', "import { securityConfig } from '../protocol/security.js';\nexport const S = securityConfig;\n"))).toEqual([]);
    expect(layerErrors(await lint('console', "import { Master } from '../master/master.js';\nexport const M = Master;\n"))).toHaveLength(1);
  });

  it('refuse the client entry importing the embedded cluster, and anything importing the CLI', async () => {
    expect(layerErrors(await lint('client', "export { LocalCluster } from '../local/local-cluster.js';\n", 'index.ts'))).toHaveLength(1);
    expect(layerErrors(await lint('local', "export * from '../cli/main.js';\n"))).toHaveLength(1);
    expect(layerErrors(await lint('', "export * from './cli/main.js';\n"))).toHaveLength(1);
  });
});

describe('the import rules, folder by folder', () => {
  /** The layer rules the project's config gives a file of `folder`, run on their own (no type information needed). */
  async function layerConfig(folder: string): Promise<Linter.Config> {
    const config = (await eslint.calculateConfigForFile(join(ROOT, 'src', folder, 'layer-probe.ts'))) as Linter.Config;
    const rules = Object.fromEntries(['no-restricted-imports', 'no-restricted-syntax']
      .filter((r) => config.rules?.[r] !== undefined).map((r) => [r, config.rules![r]!]));
    return { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser as Linter.Parser }, rules };
  }

  it('gives each folder exactly the imports of DESIGN.md\'s table, from a file and from a subfolder', async () => {
    const linter = new Linter({ configType: 'flat' });
    const got: Record<string, string[]> = {};
    /** The folders whose import line (line i + 1 imports targets[i]) the rules flagged: each import is a statement of its own, judged on its own. */
    const flagged = (messages: Linter.LintMessage[], targets: readonly string[]): Set<string> => {
      expect(messages.filter((m) => m.fatal)).toEqual([]);
      return new Set(messages.map((m) => targets[m.line - 1]!));
    };
    for (const from of FOLDERS) {
      const config = await layerConfig(from);
      const targets = FOLDERS.filter((to) => to !== from);
      // One probe a line per target folder (one verify per file rather than per import: 32 calls instead of 480).
      const direct = flagged(linter.verify(targets.map((to, i) => `import type { X${i} } from '../${to}/x.js'; export type Y${i} = X${i};`).join('\n'), config, { filename: `src/${from}/a.ts` }), targets);
      const nested = flagged(linter.verify(targets.map((to) => `import '../../${to}/x.js';`).join('\n'), config, { filename: `src/${from}/sub/a.ts` }), targets);
      got[from] = targets.filter((to) => !direct.has(to));
      expect(targets.filter((to) => !nested.has(to)), `${from}/sub`).toEqual(got[from]);
    }
    expect(got).toEqual(Object.fromEntries(FOLDERS.map((f) => [f, [...MAY_IMPORT[f]!]])));
  });

  it('refuse every import from a folder of src/ that has no row in the table', async () => {
    const linter = new Linter({ configType: 'flat' });
    const errors = linter.verify("import { E } from '../common/errors.js';\nexport const F = E;\n", await layerConfig('unlisted'), { filename: 'src/unlisted/a.ts' });
    expect(errors[0]?.message).toContain('has no row');
  });

  it('covers every folder of src/', async () => {
    const folders = (await readdir(join(ROOT, 'src'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(folders.filter((f) => !FOLDERS.includes(f))).toEqual([]);
  });
});
