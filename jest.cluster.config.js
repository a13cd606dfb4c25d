/**
 * Tests against a real control plane built from Go modules (test/cluster): one cluster for the run,
 * started by globalSetup. `npm run test:cluster`; needs Go (the first build takes minutes).
 */
import base from './jest.config.js'

export default {
  ...base,
  testPathIgnorePatterns: [],
  testMatch: ['**/test/cluster/**/*.test.ts'],
  globalSetup: '<rootDir>/test/cluster/global-setup.mjs',
  globalTeardown: '<rootDir>/test/cluster/global-teardown.mjs',
  testTimeout: 180000,
}
