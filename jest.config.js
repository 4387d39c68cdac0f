/** Unit tests sit beside the code they test, end-to-end suites in e2e/<feature>; real HTTP on loopback, no timed assertions. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/e2e', '<rootDir>/deploy', '<rootDir>/middleware', '<rootDir>/protocol', '<rootDir>/testing', '<rootDir>/scripts', '<rootDir>/gadget', '<rootDir>/layouts', '<rootDir>/conformance'],
  testMatch: ['**/*.test.ts'],
  // @xmpp/* and ltx are ESM-only: transform them too (github.com/xmppjs/xmpp.js publishes them as ES modules only).
  transform: { '^.+\\.(ts|js)$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  transformIgnorePatterns: ['/node_modules/(?!(@xmpp|ltx)/)'],
  testTimeout: 30000,
  maxWorkers: 2,
  setupFiles: ['<rootDir>/jest.setup.js'],
};
