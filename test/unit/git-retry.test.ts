import { GitCommandError } from '../../src/lib/git/exec.js'
import { isRetryable } from '../../src/lib/git/retry.js'
import { ProcessLimitError } from '../../src/lib/process/run.js'

const failed = (said: string) => new GitCommandError(`git failed to fetch main: ${said}`)

test.each([
  'fatal: unable to access (…): The requested URL returned error: 503',
  'fatal: unable to access (…): Could not resolve host: git.example.com',
  'ssh: connect to host git.example.com port 22: Connection refused\nfatal: Could not read from remote repository.',
  'fatal: early EOF',
])('retried: %s', (said) => {
  expect(isRetryable(failed(said))).toBe(true)
})

test.each([
  'remote: Repository not found.\nfatal: repository (…) not found',
  "fatal: '/tmp/x.git' does not appear to be a git repository",
  'fatal: unable to access (…): The requested URL returned error: 404',
  'warning: Could not find remote branch no-such to clone.\nfatal: Remote branch no-such not found in upstream origin',
  "fatal: couldn't find remote ref refs/heads/gone",
  'fatal: Authentication failed for (…)',
  'git@host: Permission denied (publickey).',
  'Host key verification failed.\nfatal: Could not read from remote repository.',
  '@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@',
  "fatal: destination path '.' already exists and is not an empty directory.",
])('not retried: %s', (said) => {
  expect(isRetryable(failed(said))).toBe(false)
})

test('a command our own limits killed, or an error not from git, is not retried', () => {
  for (const reason of ['timeout', 'memory', 'output', 'stopped'] as const) {
    const limit = new ProcessLimitError(`git hit its ${reason} limit; killed`, reason, '')
    const inner = new GitCommandError(limit.message, { cause: limit })
    expect(
      isRetryable(
        new GitCommandError(`git failed to fetch main: ${limit.message}`, { cause: inner }),
      ),
    ).toBe(false)
  }
  expect(isRetryable(new Error('fatal: early EOF'))).toBe(false)
})
