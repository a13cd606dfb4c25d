/**
 * Clone and fetch retry, with real git against a smart-HTTP server that is briefly down: what may succeed
 * on retry is tried three times, with a logged, jittered wait; a missing repository, a missing branch and
 * a refused login fail at once.
 */
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { GitClient } from '../../src/lib/git/git.js'
import type { Logger } from '../../src/lib/log.js'
import { bareRemote, pushFiles } from '../support/git.js'
import { startGitHttp, type GitHttpServer } from '../support/git-http.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

const TOKEN = 'retry-token'
const remote = bareRemote()
let server: GitHttpServer
let requests = 0

beforeAll(async () => {
  server = await startGitHttp(dirname(remote.path), 'x-access-token', TOKEN)
  server.onRequest = () => requests++
})
afterAll(async () => {
  await server.close()
  cleanupTempDirs()
})
beforeEach(() => {
  requests = 0
  server.failNext = 0
})

function recordingLog(): Logger & { warnings: string[] } {
  const warnings: string[] = []
  return {
    warnings,
    debug: () => {},
    info: () => {},
    warn: (m) => warnings.push(m),
    error: () => {},
  }
}

const auth = { token: TOKEN }

test('a clone retries a host that is briefly down, and says so', async () => {
  const log = recordingLog()
  server.failNext = 2
  const git = await GitClient.clone(
    { url: server.url(remote.path), dir: join(tempDir(), 'c'), branch: 'main', auth },
    log,
  )
  await git.dispose()
  expect(log.warnings).toHaveLength(2)
  expect(log.warnings[0]).toMatch(
    /git failed to clone .*503.*\(attempt 1 of 3\); retrying in \d+\.\d s$/s,
  )
  expect(log.warnings[1]).toMatch(/\(attempt 2 of 3\); retrying in \d+\.\d s$/)
  // Equal jitter on a 1 s base: the first wait is 0.5 to 1 s, the second 1 to 2 s.
  const waits = log.warnings.map((w) => Number(/retrying in ([\d.]+) s/.exec(w)![1]))
  expect(waits[0]).toBeGreaterThanOrEqual(0.5)
  expect(waits[0]).toBeLessThanOrEqual(1)
  expect(waits[1]).toBeGreaterThanOrEqual(1)
  expect(waits[1]).toBeLessThanOrEqual(2)
})

test('a fetch retries too, and gets the new commit', async () => {
  const log = recordingLog()
  const git = await GitClient.clone(
    { url: server.url(remote.path), dir: join(tempDir(), 'c'), branch: 'main', auth },
    log,
  )
  const pushed = pushFiles(remote, { 'new.txt': 'x\n' })
  server.failNext = 1
  expect(await git.resetToRemote('main')).toBe(pushed)
  await git.dispose()
  expect(log.warnings).toEqual([
    expect.stringMatching(/git failed to fetch main: .*\(attempt 1 of 3\)/s),
  ])
})

test('three failures in a row fail, after three attempts', async () => {
  const log = recordingLog()
  server.failNext = 100
  await expect(
    GitClient.clone(
      { url: server.url(remote.path), dir: join(tempDir(), 'c'), branch: 'main', auth },
      log,
    ),
  ).rejects.toThrow(/git failed to clone .*503/s)
  expect(requests).toBe(3)
  expect(log.warnings).toHaveLength(2)
})

test('a missing repository is not retried', async () => {
  const log = recordingLog()
  const missing = join(dirname(remote.path), 'missing.git')
  await expect(
    GitClient.clone({ url: server.url(missing), dir: join(tempDir(), 'c'), auth }, log),
  ).rejects.toThrow(/git failed to clone/)
  expect(requests).toBe(1)
  expect(log.warnings).toEqual([])
})

test('a missing local repository and a missing branch are not retried', async () => {
  const log = recordingLog()
  const missing = join(tempDir(), 'nothing-here.git')
  await expect(
    GitClient.clone({ url: `file://${missing}`, dir: join(tempDir(), 'c') }, log),
  ).rejects.toThrow(/does not appear to be a git repository/)
  await expect(
    GitClient.clone(
      { url: server.url(remote.path), dir: join(tempDir(), 'c'), branch: 'no-such', auth },
      log,
    ),
  ).rejects.toThrow(/no-such/)
  expect(log.warnings).toEqual([])
})

test('a refused login is not retried', async () => {
  const log = recordingLog()
  const dir = join(tempDir(), 'c')
  mkdirSync(dir)
  await expect(
    GitClient.clone(
      { url: server.url(remote.path), dir, branch: 'main', auth: { token: 'wrong' } },
      log,
    ),
  ).rejects.toThrow(/refused the credentials/)
  expect(log.warnings).toEqual([])
})
