// Lint: the async rules STYLE.md asks for (no floating promises, no promise
// where a callback expects a plain value), on type information from tsconfig;
// and the source layout's import rules (DESIGN.md, "Source layout"), so a
// layer cannot quietly start to depend on one it must not know.
import tseslint from 'typescript-eslint';

/**
 * Who may import whom under src/: each folder and the folders it may import
 * (its own files always). A folder missing here is a lint error of its own
 * (see the catch-all below), so a new folder gets its row before its code.
 */
const ALL = ['common', 'api', 'protocol', 'scheduler', 'storage', 'dataset', 'view', 'master', 'worker', 'client', 'serving', 'speed', 'functions', 'console', 'local', 'cli'];
const LAYERS = {
  common: [],
  api: ['common'],
  protocol: ['common'],
  scheduler: ['common'],
  storage: ['common'],
  dataset: ['common', 'storage'],
  // View definitions are built from api's types (defineView, monoids); api
  // itself stays common-only, so this adds no cycle.
  view: ['common', 'api', 'storage'],
  // The master wires the functions' catalog and invocation service (issue 10), as it wires the scheduler,
  // and serves the console (issue 11).
  master: ['common', 'api', 'protocol', 'scheduler', 'storage', 'dataset', 'view', 'functions', 'console'],
  worker: ['common', 'api', 'protocol', 'storage', 'dataset', 'view'],
  client: ['common', 'api', 'protocol', 'storage'],
  serving: ['common', 'protocol', 'view'],
  // The speed process runs view definitions (api, as batch tasks do) over
  // dataset records it decodes (storage's record bodies).
  speed: ['common', 'api', 'protocol', 'storage', 'view'],
  functions: ['common', 'protocol', 'storage'],
  // The web console (issue 11): its HTTP routes over a ConsoleSource the master builds; the token check is protocol's.
  // Its browser code, src/console/ui/, has rules of its own below.
  console: ['common', 'protocol'],
  // The embedded cluster composes the roles, and so may import what they do.
  local: ALL.filter((f) => f !== 'local' && f !== 'cli'),
  // Everything; and nothing imports the CLI (it is in no list).
  cli: ALL.filter((f) => f !== 'cli'),
};

/** Files directly under src/: the package's main entry, which is what user code imports. */
const ROOT_LAYERS = ['common', 'api'];

/**
 * The process wiring that may import gRPC besides src/protocol/: one file per
 * process composes protocol, domain and storage (STYLE.md).
 */
const GRPC_WIRING = ['src/master/master.ts', 'src/worker/worker.ts', 'src/client/job-client.ts'];

/** What the console's browser code may use besides the language: the globals of a page (the DOM's own types cover the rest). */
const BROWSER_GLOBALS = Object.fromEntries([
  'window', 'document', 'location', 'history', 'navigator', 'console', 'fetch', 'EventSource', 'MessageEvent', 'Event', 'Node',
  'Element', 'HTMLElement', 'SVGElement', 'HTMLDialogElement', 'Response', 'URL', 'URLSearchParams', 'setTimeout', 'clearTimeout',
].map((g) => [g, 'readonly']));

const alternatives = (folders) => folders.join('|');

/**
 * The rule options that keep a file of `folder` (undefined: directly under
 * src/) to `allowed`. Relative imports only: src/ never imports itself by
 * package name. From a folder, '../x/...' (at any depth) reaches src/x/.
 */
function layerRules(folder, allowed, { grpc }) {
  const forbidden = ALL.filter((f) => f !== folder && !allowed.includes(f));
  const where = folder === undefined ? 'a file directly under src/' : `src/${folder}/`;
  const may = allowed.length === 0 ? 'nothing outside itself' : allowed.map((f) => `src/${f}/`).join(', ');
  const prefix = folder === undefined ? String.raw`^\./` : String.raw`^(\.\./)+`;
  const patterns = forbidden.map((f) => ({
    regex: `${prefix}${f}(/|$)`,
    caseSensitive: true,
    message: `${where} may import ${may} (DESIGN.md, Source layout); src/${f}/ is not one of them.`,
  }));
  if (!grpc) {
    patterns.push({
      regex: '^@grpc/',
      caseSensitive: true,
      message: `Only src/protocol/ and the process wiring (${GRPC_WIRING.join(', ')}) import gRPC; map to domain types in src/protocol/.`,
    });
  }
  const dynamic = forbidden.length === 0 ? [] : [{
    selector: `ImportExpression[source.value=/${prefix.replace(/\//g, '\\/')}(${alternatives(forbidden)})(\\/|$)/]`,
    message: `${where} may import ${may} (DESIGN.md, Source layout), dynamically too.`,
  }];
  return {
    'no-restricted-imports': ['error', { patterns }],
    'no-restricted-syntax': ['error', ...dynamic],
  };
}

const layerConfigs = [
  // A folder of src/ with no row in LAYERS: every import from it is refused until it gets one.
  {
    files: ['src/*/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./|@grpc/)', message: 'This folder of src/ has no row in eslint.config.js LAYERS (DESIGN.md, Source layout): add one.' }] }],
    },
  },
  { files: ['src/*.ts'], rules: layerRules(undefined, ROOT_LAYERS, { grpc: false }) },
  ...Object.entries(LAYERS).map(([folder, allowed]) => ({
    files: [`src/${folder}/**/*.ts`],
    rules: layerRules(folder, allowed, { grpc: folder === 'protocol' }),
  })),
  // Later entries win: the wiring files keep their folder's layers but may use gRPC.
  ...GRPC_WIRING.map((file) => {
    const folder = file.split('/')[1];
    return { files: [file], rules: layerRules(folder, LAYERS[folder], { grpc: true }) };
  }),
  // The console's browser code runs in the page with no bundler: it may import only its own
  // folder's modules (no package, nothing else of src/), and sees the browser's globals.
  {
    files: ['src/console/ui/**/*.ts'],
    languageOptions: { globals: BROWSER_GLOBALS },
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: String.raw`^\.\./`, message: 'src/console/ui/ is browser code loaded as it is: it imports only its own folder (./x.js).' },
        { regex: String.raw`^[^.]`, message: 'src/console/ui/ has no bundler: a package cannot be imported in the browser; write it in the folder.' },
      ] }],
      'no-restricted-syntax': 'off',
    },
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/.data/**', 'bench/results/**', 'test/fixtures/jobs/bad-syntax.ts', 'eslint.config.js'] },
  {
    files: ['**/*.ts'],
    // The two tsconfigs named, rather than projectService: the same programs, built once each up front
    // instead of a project service answering file by file (less CPU for `eslint .`). A file in neither is an error.
    languageOptions: { parser: tseslint.parser, parserOptions: { project: ['./tsconfig.json', './src/console/ui/tsconfig.json'], tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layerConfigs,
);
