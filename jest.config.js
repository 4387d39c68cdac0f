/** Tests sit beside the code they test; real HTTP on loopback, no timed assertions. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/middleware', '<rootDir>/scripts', '<rootDir>/gadget'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 30000,
  maxWorkers: 2,
  setupFiles: ['<rootDir>/jest.setup.js'],
};
