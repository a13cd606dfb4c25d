/** The reliability suite: faults injected, bad input fuzzed, secrets grepped (`npm run test:reliability`). */
import base from './jest.config.js'

export default {
  ...base,
  testPathIgnorePatterns: [],
  testMatch: ['**/test/reliability/**/*.test.ts'],
  testTimeout: 600000,
}
