// The one flag parser (CLI and agent): what node:util's parseArgs would accept loosely is refused here by
// position, and a boolean takes the same words everywhere.
import { booleanWord, parseFlags } from '../../src/lib/args.js'

const flags = { once: { boolean: true }, 'git-url': {}, 'git-path': {} }

function thrown(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    return (error as Error).message
  }
  throw new Error('did not throw')
}

test('values in order, repeated flags kept, booleans alone or with a word', () => {
  const r = parseFlags(
    ['--git-path', 'a', '--git-path=b', '--once', 'False', '--git-url', '-x'],
    flags,
  )
  expect(Object.fromEntries(r.values)).toEqual({
    'git-path': ['a', 'b'],
    once: ['False'],
    'git-url': ['-x'],
  })
  expect(parseFlags(['--once'], flags).values.get('once')).toEqual(['true'])
})

test('--help or -h ends parsing; --help=x is refused', () => {
  expect(parseFlags(['--help', '--bogus'], flags).help).toBe(true)
  expect(parseFlags(['-h'], flags).help).toBe(true)
  expect(thrown(() => parseFlags(['--help=x'], flags))).toBe('flag --help takes no value')
})

test.each([
  ['a short-flag group', ['-hx']],
  ['a short flag', ['-x']],
  ['the option terminator', ['--', '--once']],
  ['a word where a flag belongs', ['--once', 'yes']],
])('%s is refused by position', (_name, argv) => {
  expect(thrown(() => parseFlags(argv, flags, 2))).toMatch(/^argument [23] is not a flag/)
})

test('a flag from the prototype is no flag', () => {
  expect(thrown(() => parseFlags(['--constructor'], flags))).toMatch(/unknown flag --constructor/)
})

test('boolean words', () => {
  expect(['true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'yes', ''].map(booleanWord)).toEqual([
    true,
    true,
    true,
    false,
    false,
    false,
    undefined,
    undefined,
  ])
})
