/** Where things are, for tests. */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The pinned kubectl that `scripts/install-tools.mjs` installs (tests never use whatever is on PATH). */
export const kubectl = join(repoRoot, '.tools', 'bin', 'kubectl')
if (!existsSync(kubectl)) {
  throw new Error(`${kubectl} is missing: run 'node scripts/install-tools.mjs' (npm test does)`)
}

/** The project's own fixtures. */
export const fixtures = join(repoRoot, 'test', 'fixtures')

/** Fixtures from real projects, outside this repository (only for `npm run test:real-world`). */
export const sharedFixtures = join(repoRoot, '..', 'shared', 'fixtures')

export function dist(entry: string): string {
  return join(repoRoot, 'dist', entry, 'index.js')
}
