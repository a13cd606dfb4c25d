/** Tests on the real apps and gitops repos in ../shared/fixtures (not part of a user's clone). */
import base from './jest.config.js'

export default {
  ...base,
  testPathIgnorePatterns: [],
  testMatch: ['**/test/real-world/**/*.test.ts'],
  testTimeout: 180000,
}
