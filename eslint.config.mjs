// The repository's rules (CONTRIBUTING.md): typescript-eslint's recommended set, and the import boundaries that keep
// the layers apart — production never imports the lab, the tests' harness or the gadget; the gadget never the
// middleware; the protocol module nothing outside itself; adapters never the features above them; no import cycles.
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

const outside = (...groups) => ({ patterns: groups.map(([group, message]) => ({ group: [group].flat(), message })) });
const NOT_LAB = ['**/scripts/**', 'the lab and the tools are clients of the product, never imported by it'];
const NOT_TESTING = ['**/testing/**', "the tests' harness is for tests (and the lab), never for production code"];
const NOT_GADGET = ['**/gadget/**', 'what gadget and middleware share lives in protocol/'];
const NOT_MIDDLEWARE = ['**/middleware/**', 'the gadget speaks to the middleware over HTTP (protocol/), never imports it'];
const NOT_FEATURES = ['../lookup/*', '../calls/*', '../missed/*', '../stats/*', '../routes/*', '../connector'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.lab-data/**', '**/*.js', '**/*.mjs', 'gadget/src/xmpp-internals.d.ts'] },
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    // Our imports are relative and extensionless: resolve them to the .ts files (no-cycle follows them).
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.d.ts', '.js'] })],
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // Tests read loose JSON answers of emulators and vendors' bodies: `any` there is a reading aid, not an API.
  { files: ['**/*.test.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  // Layers (routes → services → adapters), production code only.
  {
    files: ['middleware/**/*.ts', 'protocol/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', outside(NOT_LAB, NOT_TESTING, NOT_GADGET)], 'import-x/no-cycle': 'error' },
  },
  {
    files: ['middleware/bitrix24/**/*.ts', 'middleware/finesse/**/*.ts', 'middleware/store*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', outside(NOT_LAB, NOT_TESTING, NOT_GADGET, [NOT_FEATURES, 'an adapter serves the features; it never imports them'])],
    },
  },
  {
    files: ['protocol/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', outside(['../**', 'the protocol module imports nothing outside itself: both sides build on it'])] },
  },
  {
    files: ['gadget/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', outside(NOT_MIDDLEWARE, NOT_LAB, NOT_TESTING)], 'import-x/no-cycle': 'error' },
  },
  {
    files: ['testing/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', outside(NOT_LAB, ['**/gadget/src/**', 'the harness drives the gadget as a browser does, not by its internals'])] },
  },
);
