import { envName, parseArgs } from '../../src/cli/args.js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readRepoInputs } from '../../src/commands/repo-inputs.js'
import { Inputs } from '../../src/lib/inputs.js'

function inputs(values: Record<string, string>, defaults: Record<string, string> = {}) {
  const masked: string[] = []
  const reader = new Inputs({ get: (n) => values[n], mask: (s) => masked.push(s) }, defaults)
  return { reader, masked }
}

describe('Inputs', () => {
  test('required names the input', () => {
    expect(() => inputs({}).reader.required('path')).toThrow("input 'path' is required")
  })
  test('defaults fill empty values', () => {
    expect(inputs({ a: '  ' }, { a: 'x' }).reader.optional('a')).toBe('x')
  })
  test('lists split on lines and commas, dropping blanks and comments', () => {
    expect(inputs({ l: 'a:1\n# note\n b:2 , c:3\n\n' }).reader.list('l')).toEqual([
      'a:1',
      'b:2',
      'c:3',
    ])
  })
  test('booleans are strict', () => {
    expect(inputs({ b: 'true' }).reader.boolean('b')).toBe(true)
    expect(inputs({}).reader.boolean('b')).toBe(false)
    expect(() => inputs({ b: 'yes' }).reader.boolean('b')).toThrow(
      "input 'b' must be true or false",
    )
  })
  test('secrets are masked, line by line too', () => {
    const { reader, masked } = inputs({
      key: '-----BEGIN KEY-----\nabcdefghijklmnop\n-----END KEY-----',
    })
    reader.secret('key')
    expect(masked).toContain('abcdefghijklmnop')
    expect(masked[0]).toContain('BEGIN KEY')
  })
  test('secretFile reads and masks the file, and names the path when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'inputs-test-'))
    writeFileSync(join(dir, 'key'), '-----BEGIN KEY-----\nabcdefghijklmnop\n-----END KEY-----\n')
    const { reader, masked } = inputs({ 'ssh-key-file': join(dir, 'key') })
    expect(reader.secretFile('ssh-key-file')).toBe(
      '-----BEGIN KEY-----\nabcdefghijklmnop\n-----END KEY-----',
    )
    expect(masked).toContain('abcdefghijklmnop')
    expect(() => inputs({ f: join(dir, 'none') }).reader.secretFile('f')).toThrow(
      `input f ${join(dir, 'none')} cannot be read (ENOENT)`,
    )
    expect(inputs({}).reader.secretFile('f')).toBeUndefined()
  })
  test('choice names the allowed values', () => {
    expect(() => inputs({ mode: 'pr' }).reader.choice('mode', ['push', 'pull-request'])).toThrow(
      "input 'mode' must be one of push, pull-request",
    )
  })
})

describe('control characters', () => {
  const read = (values: Record<string, string>) => inputs(values).reader
  test.each([
    ['required', (r: Inputs) => r.required('version')],
    ['optional', (r: Inputs) => r.optional('version')],
    ['choice', (r: Inputs) => r.choice('version', ['1.0.0\nX', '1.0.0\u001bX'])],
    ['boolean', (r: Inputs) => r.boolean('version')],
  ])('a one-line %s input refuses a newline or any control character', (_kind, get) => {
    for (const bad of [
      '1.0.0\nrelease(x): y',
      '1.0.0\rX',
      '1.0.0\tX',
      '1.0\u0000',
      '1.0\u001b[2J',
      '1\u007f',
      '1\u0085',
    ]) {
      let message = ''
      try {
        get(read({ version: bad }))
      } catch (error) {
        message = (error as Error).message
      }
      expect(message).toMatch(/^input 'version' holds a control character/)
      expect(message).not.toContain(bad.trim())
      expect(message).not.toContain('1.0')
    }
  })
  test('a wrong boolean or choice is not quoted back (a token given to the wrong input)', () => {
    const token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'
    expect(() => read({ force: token }).boolean('force')).not.toThrow(token)
    expect(() => read({ mode: token }).choice('mode', ['push'])).not.toThrow(token)
    expect(() => read({ force: token }).boolean('force')).toThrow("input 'force'")
  })
  test('a trailing newline is trimmed, not refused', () => {
    expect(read({ version: '1.0.0\n' }).required('version')).toBe('1.0.0')
  })
  test('text, lists and secrets keep line breaks and tabs, and refuse other control characters', () => {
    const r = read({ message: 'a\r\n\tb', images: 'a=b:1\nc=d:2', key: 'k1\nk2' })
    expect(r.text('message')).toBe('a\r\n\tb')
    expect(r.list('images')).toEqual(['a=b:1', 'c=d:2'])
    expect(r.secret('key')).toBe('k1\nk2')
    for (const get of [
      (x: Inputs) => x.text('v'),
      (x: Inputs) => x.list('v'),
      (x: Inputs) => x.secret('v'),
      (x: Inputs) => x.words('v'),
    ]) {
      let message = ''
      try {
        get(read({ v: 's3cret\u0000x\ny' }))
      } catch (error) {
        message = (error as Error).message
      }
      expect(message).toBe(
        "input 'v' holds a control character; only line breaks and tabs are allowed",
      )
    }
  })
})

describe('CLI arguments', () => {
  const known = new Set(['path', 'images', 'allow-secrets'])
  test('--name value, --name=value, repeated flags as a list, bare booleans', () => {
    const r = parseArgs(
      ['--path', 'a', '--images=x:1', '--images', 'y:2', '--allow-secrets', '--dotenv', 'o.env'],
      known,
      new Set(['allow-secrets']),
    )
    expect(Object.fromEntries(r.values)).toEqual({
      path: 'a',
      images: 'x:1\ny:2',
      'allow-secrets': 'true',
    })
    expect(r.dotenv).toBe('o.env')
  })
  test('unknown flags are refused', () => {
    expect(() => parseArgs(['--pth', 'a'], known)).toThrow('unknown flag --pth')
  })
  test('environment names', () => {
    expect(envName('output-dir')).toBe('GITOPS_OUTPUT_DIR')
  })
})

describe('repository inputs', () => {
  const repo = (values: Record<string, string>) =>
    readRepoInputs(
      inputs({
        repository: 'file:///tmp/gitops.git',
        'author-name': 'a',
        'author-email': 'a@b',
        ...values,
      }).reader,
      {},
    )
  test('git-timeout is read in seconds into milliseconds, 300 s by default', () => {
    expect(repo({}).gitTimeoutMs).toBe(300_000)
    expect(repo({ 'git-timeout': '5' }).gitTimeoutMs).toBe(5_000)
  })
  test.each(['0', '-1', '1.5', 'ten', '1e3x'])('git-timeout %s is refused', (value) => {
    expect(() => repo({ 'git-timeout': value })).toThrow(
      "input 'git-timeout' must be a whole number of seconds, at least 1",
    )
  })
  test('ssh-key-file and ssh-key are one or the other', () => {
    const dir = mkdtempSync(join(tmpdir(), 'inputs-test-'))
    writeFileSync(join(dir, 'key'), 'KEY-TEXT-abcdefgh\n')
    expect(repo({ 'ssh-key-file': join(dir, 'key') }).auth.sshKey).toBe('KEY-TEXT-abcdefgh')
    expect(() => repo({ 'ssh-key-file': join(dir, 'key'), 'ssh-key': 'x' })).toThrow(
      'give ssh-key and ssh-key-file one at a time, not both',
    )
  })
})
