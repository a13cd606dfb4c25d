// The CLI's flag parser: a flag that takes a value takes the next argument whatever it looks like (an SSH
// key starts with `-----BEGIN`), only booleans stand alone, and no error echoes an argument.
import { parseArgs } from '../../src/cli/args.js'

const KEY = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n')

const known = new Set(['ssh-key', 'repository', 'force', 'dry-run', 'images'])
const booleans = new Set(['force', 'dry-run'])

function thrown(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    return (error as Error).message
  }
  throw new Error('did not throw')
}

describe('values', () => {
  test('a value flag takes the next argument, even one that starts with dashes', () => {
    const r = parseArgs(['--ssh-key', KEY, '--repository', 'r'], known, booleans)
    expect(r.values.get('ssh-key')).toBe(KEY)
    expect(r.values.get('repository')).toBe('r')
  })
  test('a value that looks like a flag is a value', () => {
    expect(parseArgs(['--repository', '--force'], known, booleans).values.get('repository')).toBe(
      '--force',
    )
  })
  test('--name=value keeps everything after the first =', () => {
    expect(parseArgs([`--ssh-key=${KEY}`], known, booleans).values.get('ssh-key')).toBe(KEY)
  })
  test('booleans stand alone, or take a true/false word', () => {
    const r = parseArgs(['--force', '--dry-run', 'false', '--repository', 'r'], known, booleans)
    expect(r.values.get('force')).toBe('true')
    expect(r.values.get('dry-run')).toBe('false')
    expect(r.values.get('repository')).toBe('r')
  })
  test('a value flag with nothing after it names the flag', () => {
    expect(() => parseArgs(['--repository'], known, booleans)).toThrow(
      'flag --repository needs a value',
    )
    expect(() => parseArgs(['--dotenv'], known, booleans)).toThrow('flag --dotenv needs a value')
  })
})

describe('errors never echo an argument', () => {
  test.each([
    ['a key after an unknown flag', ['--sssh-key', KEY]],
    ['a key after a boolean', ['--force', KEY]],
    ['a key as an unknown --name=value', [`--sshkey=${KEY}`]],
    ['a key as a flag of its own', ['--repository', 'r', KEY]],
    ['a key starting with dashes as a flag', ['--force', `--${KEY}`]],
  ])('%s', (_name, argv) => {
    const message = thrown(() => parseArgs(argv, known, booleans))
    expect(message).not.toContain('OPENSSH')
    expect(message).not.toContain('b3BlbnNz')
  })
  test('an unknown flag of a safe shape is named; other arguments by position', () => {
    expect(thrown(() => parseArgs(['--sssh-key', KEY], known, booleans))).toMatch(
      /unknown flag --sssh-key/,
    )
    expect(thrown(() => parseArgs(['--force', KEY], known, booleans))).toMatch(/argument 2/)
    expect(thrown(() => parseArgs(['--force', `--${KEY}`], known, booleans))).toMatch(/argument 2/)
  })
})
