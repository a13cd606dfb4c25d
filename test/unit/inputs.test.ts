import { envName, parseArgs } from '../../src/cli/args.js'
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
      "input 'b' must be true or false, got 'yes'",
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
  test('choice names the allowed values', () => {
    expect(() => inputs({ mode: 'pr' }).reader.choice('mode', ['push', 'pull-request'])).toThrow(
      "input 'mode' must be one of push, pull-request, got 'pr'",
    )
  })
})

describe('CLI arguments', () => {
  const known = new Set(['path', 'images', 'allow-secrets'])
  test('--name value, --name=value, repeated flags as a list, bare booleans', () => {
    const r = parseArgs(
      ['--path', 'a', '--images=x:1', '--images', 'y:2', '--allow-secrets', '--dotenv', 'o.env'],
      known,
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
