// Bad input, fuzzed: the manifest loader, the CLI's flags, the inputs and the release.json reader take
// whatever fast-check makes of them and either read it or refuse it with a ConfigurationError that
// quotes no value, never a TypeError, a RangeError or a hang. Each target is bounded in time; one row a
// target (tries = runs, recovered = runs handled, lost = counterexamples), then every bad input that
// once got through, as a fixed case.
import fc from 'fast-check'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { publishReleaseCommand } from '../../src/commands/publish-release.js'
import { specs } from '../../src/commands/specs.generated.js'
import { parseArgs, type ParsedArgs } from '../../src/cli/args.js'
import { ConfigurationError } from '../../src/lib/errors.js'
import { parseRelease } from '../../src/lib/gitops/release.js'
import { publishRelease } from '../../src/lib/gitops/publish.js'
import { Inputs } from '../../src/lib/inputs.js'
import { silentLogger } from '../../src/lib/log.js'
import { readManifestFolder } from '../../src/lib/manifests/folder.js'
import { validateManifests } from '../../src/lib/manifests/objects.js'
import { parseManifestText } from '../../src/lib/manifests/yaml.js'
import { bareRemote, manifestsFolder, remoteHead } from '../support/git.js'
import { recordFault } from './report.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

afterAll(cleanupTempDirs)

// Each target gets a few seconds; the whole file stays near 30 s.
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 5000)
const RUNS = 1_000_000
// A single run slower than this counts as a hang (the loader has size and alias limits).
const SLOW_RUN_MS = 3000

/** Runs a property within the budget, records its row, and fails with fast-check's report. */
async function fuzz<T>(fault: string, property: fc.IRawProperty<T>): Promise<void> {
  const details = await fc.check(property, {
    numRuns: RUNS,
    interruptAfterTimeLimit: BUDGET_MS,
    // An interrupted run is a bounded run, not a failure.
    markInterruptAsFailure: false,
  })
  const lost = details.failed ? 1 : 0
  recordFault({ fault, tries: details.numRuns, recovered: details.numRuns - lost, lost })
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? 'counterexample found')
  expect(details.numRuns).toBeGreaterThan(50)
  expect(lost).toBe(0)
}

/** What a refusal must be: a ConfigurationError with a message; anything else is a crash. */
function expectRefusal(error: unknown): asserts error is ConfigurationError {
  if (!(error instanceof ConfigurationError) || error.message.trim() === '') {
    throw new Error(
      `not a ConfigurationError: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    )
  }
}

function timed<T>(work: () => T): T {
  const started = Date.now()
  const out = work()
  const took = Date.now() - started
  if (took > SLOW_RUN_MS) throw new Error(`took ${took} ms (a hang in the making)`)
  return out
}

// Generators

/** A token-like value that must never be quoted: distinctive enough that no message holds it by chance. */
const secretValue = fc
  .tuple(
    fc.constantFrom('ghp_', 'glpat-', 'xoxb-', 'AKIA', 's3cr3t', '-----BEGIN KEY ', '--'),
    fc.stringMatching(/^[A-Za-z0-9]{16,40}$/),
  )
  // The X keeps `--…` from looking like a flag name, which the CLI may quote.
  .map(([prefix, body]) => `${prefix}X${body}`)

/** Pieces of YAML that have broken YAML loaders: anchors, aliases, tags, merges, directives, deep nests. */
const yamlFragment = fc.oneof(
  fc.constantFrom(
    'apiVersion: v1',
    'kind: ConfigMap',
    'kind: ../../Evil',
    'kind: List',
    'items:',
    'metadata:',
    '  name: x',
    '  name: ../x',
    '  namespace: y',
    'data:',
    '  k: v',
    '---',
    '...',
    '- ',
    '- a',
    '? ',
    ': ',
    '{',
    '}',
    '[',
    ']',
    ',',
    '"',
    "'",
    '|',
    '>-',
    '#',
    '&a',
    '*a',
    '&b [*a, *a, *a, *a]',
    '<<: *a',
    '<<: [*a, *b]',
    '!!binary',
    '!!binary ////',
    '!!set',
    '!!map',
    '!!float',
    '!!int',
    '!!str',
    '!foo',
    '!<tag:x>',
    '%YAML 1.1',
    '%TAG ! tag:example.com,2000:',
    '0644',
    '0x7FFFFFFFFFFFFFFFF',
    '1e999',
    '.inf',
    '-.nan',
    '1:20',
    '~',
    'yes',
    '\t',
    '\x00',
    '\x1b[31m',
    '\x7f',
    '\u0085',
    '\uFEFF',
    '\u2028',
    '\uD800',
    '\r',
  ),
  fc.integer({ min: 1, max: 3000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 2000 }).map((n) => '- '.repeat(n)),
  fc
    .integer({ min: 1, max: 400 })
    .map((n) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:`).join('\n')),
  fc.integer({ min: 1000, max: 2_000_000 }).map((n) => 'x'.repeat(n)),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
)

const yamlText = fc
  .tuple(fc.array(yamlFragment, { maxLength: 40 }), fc.constantFrom('\n', ' ', '', '\n  ', ': '))
  .map(([parts, sep]) => parts.join(sep))

/** "Billion laughs": each level aliases the one before several times. */
const aliasBomb = fc
  .tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 12 }))
  .map(([levels, width]) => {
    const lines = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: bomb',
      'l0: &l0 [lol]',
    ]
    for (let i = 1; i <= levels; i++) {
      lines.push(`l${i}: &l${i} [${Array.from({ length: width }, () => `*l${i - 1}`).join(', ')}]`)
    }
    return lines.join('\n')
  })

/** Well-formed objects whose fields are anything: what validation must sort out. */
const objectText = fc
  .record({
    apiVersion: fc.oneof(fc.constant('v1'), fc.string(), fc.integer(), fc.constant(null)),
    kind: fc.oneof(
      fc.constantFrom('ConfigMap', '../../Evil', 'a/b', '..', '.hidden', 'Secret', ''),
      fc.string(),
      fc.array(fc.string(), { maxLength: 2 }),
    ),
    name: fc.oneof(fc.constantFrom('x', '..', '../etc', 'a/b', '-x'), fc.string(), fc.integer()),
    namespace: fc.option(fc.oneof(fc.string(), fc.constant({}))),
  })
  .map(({ apiVersion, kind, name, namespace }) =>
    JSON.stringify({
      apiVersion,
      kind,
      metadata: namespace === null ? { name } : { name, namespace },
    }),
  )

// The manifest loader

/** Loads and validates; checks the outcome is documents that are Kubernetes objects, or a refusal. */
function loadOrRefuse(text: string): void {
  let docs
  try {
    docs = timed(() => validateManifests(parseManifestText(text, 'fuzz.yaml')))
  } catch (error) {
    expectRefusal(error)
    return
  }
  for (const { object } of docs) {
    if (typeof object.apiVersion !== 'string' || object.apiVersion === '')
      throw new Error(`validated an object without apiVersion: ${JSON.stringify(object)}`)
    // Kinds are words (a DNS-1035 label once lower-cased, as Kubernetes checks a CRD's kind): nothing
    // that makes a path or a hidden file.
    if (
      typeof object.kind !== 'string' ||
      !/^[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(object.kind)
    )
      throw new Error(`validated an object with kind ${JSON.stringify(object.kind)}`)
    const name = object.metadata?.name
    if (typeof name !== 'string' || name === '' || /[/\\]/.test(name) || name === '..')
      throw new Error(`validated an object with name ${JSON.stringify(name)}`)
  }
}

describe('the manifest loader', () => {
  test('arbitrary text is read or refused', async () => {
    await fuzz(
      'fuzz: manifest loader, arbitrary text',
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary' })), (text) =>
        loadOrRefuse(text),
      ),
    )
  })

  test('YAML-ish text (anchors, aliases, tags, nesting, huge scalars, control characters) is read or refused', async () => {
    await fuzz(
      'fuzz: manifest loader, YAML grammar fragments',
      fc.property(fc.oneof(yamlText, aliasBomb), (text) => loadOrRefuse(text)),
    )
  })

  test('objects with any apiVersion, kind, name and namespace: only Kubernetes-shaped ones pass validation', async () => {
    await fuzz(
      'fuzz: manifest validation, any field values',
      fc.property(objectText, (text) => loadOrRefuse(text)),
    )
  })

  test('a manifest folder of arbitrary bytes is read or refused, never as U+FFFD', async () => {
    const dir = tempDir('gitops-fuzz-bytes-')
    let n = 0
    await fuzz(
      'fuzz: manifest folder, arbitrary bytes',
      fc.asyncProperty(
        fc.tuple(
          fc.constantFrom('', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: '),
          fc.uint8Array({ maxLength: 200 }),
        ),
        async ([head, bytes]) => {
          const folder = join(dir, String(n++))
          mkdirSync(folder)
          const body = Buffer.concat([Buffer.from(head), Buffer.from(bytes)])
          writeFileSync(join(folder, 'object.yaml'), body)
          let docs
          try {
            docs = validateManifests(await readManifestFolder(folder))
          } catch (error) {
            expectRefusal(error)
            return
          }
          // What was read must be what was written: bytes that are not UTF-8 are refused, not replaced.
          if (JSON.stringify(docs).includes('\uFFFD') && !body.toString('utf8').includes('\uFFFD'))
            throw new Error('bytes that are not UTF-8 were read as U+FFFD')
          if (!Buffer.from(body.toString('utf8'), 'utf8').equals(body))
            throw new Error('a file that is not UTF-8 was read')
        },
      ),
    )
  })
})

// The CLI's flags and the inputs

const publishSpec = specs['publish-release']
const known = new Set(Object.keys(publishSpec.inputs))
const booleans = new Set(
  Object.entries(publishSpec.inputs)
    .filter(([, s]) => s.default === 'true' || s.default === 'false')
    .map(([name]) => name),
)
// The parser may take the command's true/false inputs as a third argument; older ones ignore it.
const parse = parseArgs as unknown as (
  argv: string[],
  known: Set<string>,
  booleans: Set<string>,
) => ParsedArgs

describe('the CLI flags', () => {
  test('any argument list is parsed or refused without quoting a secret', async () => {
    const word = fc.oneof(
      fc.constantFrom(
        ...[...known].map((k) => `--${k}`),
        '--dotenv',
        '--help',
        '-h',
        '--',
        '-',
        '=',
      ),
      fc.constantFrom(...[...known].map((k) => `--${k}=`)),
      fc.string({ maxLength: 20 }),
      fc.string({ maxLength: 20 }).map((s) => `--${s}`),
    )
    await fuzz(
      'fuzz: CLI flags (parseArgs)',
      fc.property(
        fc.array(
          fc.oneof(
            word,
            secretValue.map((s) => ({ secret: s })),
          ),
          { maxLength: 12 },
        ),
        (items) => {
          const argv = items.map((i) => (typeof i === 'string' ? i : i.secret))
          const secrets = items.flatMap((i) => (typeof i === 'string' ? [] : [i.secret]))
          try {
            timed(() => parse(argv, known, booleans))
          } catch (error) {
            expectRefusal(error)
            for (const s of secrets) {
              if (error.message.includes(s) || error.message.includes(s.slice(-16)))
                throw new Error(`the error quotes a value: ${error.message}`)
            }
          }
        },
      ),
    )
  })
})

describe('the inputs', () => {
  type Reader = (inputs: Inputs, name: string) => unknown
  const readers: Record<string, Reader> = {
    required: (i, n) => i.required(n),
    optional: (i, n) => i.optional(n),
    secret: (i, n) => i.secret(n),
    boolean: (i, n) => i.boolean(n),
    list: (i, n) => i.list(n),
    words: (i, n) => i.words(n),
    choice: (i, n) => i.choice(n, ['push', 'pull-request'] as const),
  }

  test('any value, read any way, is a value or a refusal that does not quote it', async () => {
    const value = fc.oneof(
      secretValue.map((s) => ({ text: s, secret: s })),
      fc
        .tuple(fc.string({ maxLength: 10 }), secretValue, fc.string({ maxLength: 10 }))
        .map(([a, s, b]) => ({ text: `${a}${s}${b}`, secret: s })),
      fc.string({ maxLength: 60 }).map((text) => ({ text, secret: undefined })),
    )
    await fuzz(
      'fuzz: inputs (Inputs)',
      fc.property(value, fc.constantFrom(...Object.keys(readers)), ({ text, secret }, how) => {
        const masked: string[] = []
        const inputs = new Inputs({ get: () => text, mask: (s) => masked.push(s) })
        let out: unknown
        try {
          out = timed(() => readers[how](inputs, 'some-input'))
        } catch (error) {
          expectRefusal(error)
          if (secret !== undefined && error.message.includes(secret))
            throw new Error(`${how}: the error quotes the value: ${error.message}`)
          return
        }
        // A one-line value never carries a control character into commits, outputs or logs.
        if (
          ['required', 'optional', 'choice'].includes(how) &&
          typeof out === 'string' &&
          /\p{Cc}/u.test(out)
        )
          throw new Error(`${how}: returned a value with a control character`)
      }),
    )
  })
})

// release.json

describe('the release.json reader', () => {
  test('any text is a release with a string version and digest, or a refusal that does not quote it', async () => {
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json(),
      fc
        .record({
          version: fc.oneof(fc.string(), fc.integer(), fc.constant(null), secretValue),
          digest: fc.oneof(fc.string(), fc.constant(undefined), secretValue),
          note: secretValue,
        })
        .map((r) => JSON.stringify(r)),
      fc
        .tuple(fc.string({ maxLength: 20 }), secretValue, fc.string({ maxLength: 20 }))
        .map(([a, s, b]) => `${a}${s}${b}`),
    )
    await fuzz(
      'fuzz: release.json reader (parseRelease)',
      fc.property(text, (input) => {
        let info
        try {
          info = timed(() => parseRelease(input, 'releases/staging/shop/release.json'))
        } catch (error) {
          expectRefusal(error)
          // No piece of the file is quoted: it may be a symlink's target (a key, a token).
          const trimmed = input.trim()
          if (trimmed.length >= 8 && error.message.includes(trimmed))
            throw new Error(`the error quotes the file: ${error.message}`)
          for (const m of input.match(/(ghp_|glpat-|xoxb-|AKIA|s3cr3t|--)[A-Za-z0-9]{16,}/g) ??
            []) {
            if (error.message.includes(m.slice(-16)))
              throw new Error(`the error quotes the file: ${error.message}`)
          }
          return
        }
        if (typeof info?.version !== 'string' || typeof info.digest !== 'string')
          throw new Error(`read without a string version and digest: ${JSON.stringify(info)}`)
      }),
    )
  })
})

// Every bad input that once got through

describe('fixed cases', () => {
  const refused = (work: () => unknown): ConfigurationError => {
    try {
      work()
    } catch (error) {
      expectRefusal(error)
      return error
    }
    throw new Error('accepted')
  }

  test('an alias bomb is refused, fast', () => {
    const lines = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: bomb',
      'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]',
    ]
    for (const [prev, next] of ['ab', 'bc', 'cd', 'de', 'ef', 'fg', 'gh', 'hi']) {
      lines.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(', ')}]`)
    }
    const started = Date.now()
    expect(refused(() => parseManifestText(lines.join('\n'), 'bomb.yaml')).message).toMatch(
      /bomb\.yaml/,
    )
    expect(Date.now() - started).toBeLessThan(2000)
  })

  test('kind ../../Evil is refused', () => {
    const text = 'apiVersion: v1\nkind: ../../Evil\nmetadata:\n  name: x\n'
    expect(refused(() => validateManifests(parseManifestText(text, 'evil.yaml'))).message).toMatch(
      /kind/,
    )
  })

  test('a version with a newline is refused, and the error does not quote it', () => {
    const inputs = new Inputs({ get: () => '1.0.0\nGitops-App: other-app', mask: () => undefined })
    for (const read of [() => inputs.required('version'), () => inputs.optional('version')]) {
      const error = refused(read)
      expect(error.message).toMatch(/version/)
      expect(error.message).not.toContain('other-app')
    }
  })

  test('a source commit that is not a hex object id is refused at publish, before anything is pushed', async () => {
    const remote = bareRemote()
    const before = remoteHead(remote)
    const values: Record<string, string> = {
      repository: remote.url,
      env: 'staging',
      app: 'shop',
      manifests: manifestsFolder('shop', 'acme/shop:1.0.0'),
      version: '1.0.0',
      'source-commit': '../../../../groups/7/variables?key=X&x=',
    }
    const defaults = Object.fromEntries(
      Object.entries(publishSpec.inputs).map(([k, v]) => [k, v.default]),
    )
    const inputs = new Inputs({ get: (n) => values[n], mask: () => undefined }, defaults)
    let error: unknown
    try {
      await publishRelease(publishReleaseCommand.getInputs(inputs), silentLogger)
    } catch (e) {
      error = e
    }
    expectRefusal(error)
    expect(error.message).toMatch(/source.commit/i)
    expect(remoteHead(remote)).toBe(before)
  })

  test('a key after --ssh-key is its value, whatever it starts with, and is never quoted', () => {
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----'
    const parsed = parse(['--ssh-key', key, '--env', 'staging'], known, booleans)
    expect(parsed.values.get('ssh-key')).toBe(key)
    expect(parsed.values.get('env')).toBe('staging')
    // After a flag that takes no value, the key lands where a flag is expected: refused, not quoted.
    const error = refused(() => parse(['--force', '--ssh-key', '--dry-run', key], known, booleans))
    expect(error.message).not.toContain('b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ')
    expect(error.message).not.toContain('BEGIN')
  })

  test('bytes that are not UTF-8 are refused, not read as U+FFFD', async () => {
    const folder = join(tempDir('gitops-fuzz-bytes-'), 'm')
    mkdirSync(folder)
    writeFileSync(
      join(folder, 'configmap-x.yaml'),
      Buffer.concat([
        Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: "'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('"\n'),
      ]),
    )
    let error: unknown
    try {
      await readManifestFolder(folder)
    } catch (e) {
      error = e
    }
    expectRefusal(error)
    expect(error.message).toMatch(/configmap-x\.yaml/)
  })
})
