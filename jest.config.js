/** Jest runs the TypeScript tests against a real FerretDB started once for the whole run. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  // Fails any test during which a request, answer, callback or TwiML document left Twilio's published contract.
  setupFilesAfterEnv: ['<rootDir>/test/helpers/contract/setup.ts'],
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
  testTimeout: 30000,
  maxWorkers: 2,
};
