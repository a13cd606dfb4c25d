import { execFileSync } from 'node:child_process'
import { parseManifestText, toYaml } from '../../src/lib/manifests/yaml.js'
import { kubectl } from '../support/paths.js'

// Each value is written as the data of a ConfigMap and read both by the project's loader and by
// kubectl itself (`kubectl label --local -o json`, which needs no cluster): they must agree.
const cases: Record<string, string> = {
  octal: '0644',
  octalO: '0o17',
  negativeOctal: '-0755',
  hex: '0x1F',
  binary: '0b101',
  underscores: '1_000',
  floatUnderscores: '1_000.5',
  decimal: '42',
  plus: '+12',
  float: '.5',
  exponent: '1e3',
  yes: 'yes',
  Yes: 'Yes',
  no: 'no',
  on: 'on',
  off: 'Off',
  y: 'y',
  N: 'N',
  true: 'true',
  tilde: '~',
  Null: 'Null',
  empty: '',
  sexagesimal: '1:20',
  sexagesimalFloat: '1:20.5',
  date: '2001-12-14',
  timestamp: '2001-12-14t21:59:43.10-05:00',
  equals: '=',
  quotedYes: "'yes'",
  quotedOctal: '"0644"',
  version: '1.10',
  ip: '10.0.0.1',
  big: '12345678901234567890',
  negativeZero: '-0',
  negativeHex: '-0x1F',
  upperHex: '0X1F',
  notOctal: '08',
  octalUnderscore: '0_644',
  doubleUnderscore: '1__0',
  leadingZeroFloat: '012.5',
  dotExponent: '.5e3',
  signedDot: '+.5',
  trailingDot: '1.',
  dot: '.',
  plusInf: '+inf',
  oN: 'oN',
  TRUE: 'TRUE',
  localTag: '!foo bar',
  strTag: '!!str 0644',
  intTag: '!!int "12"',
  ethereumAddress: '0x52908400098527886E0F7030069857D2E4169EE7',
  hexOverUint64: '0x10000000000000000',
  octalOverInt64: '02000000000000000000000',
  uint64Max: '18446744073709551615',
  floatOverflow: '1e400',
  dotUnderscore: '.5_0',
  floatTagOnHex: '!!float 0x10',
  setTag: '!!set {a, b}',
  timestampTag: '!!timestamp 2001-12-14',
  binaryTag: '!!binary aGVsbG8=',
  emptyLocalTag: '!foo',
  globalTag: '!<tag:example.com,2000:x> y',
}

function kubectlReading(text: string): Record<string, unknown> {
  const json = execFileSync(kubectl, ['label', '--local', '-f', '-', 'x=y', '-o', 'json'], {
    input: text,
    env: { PATH: process.env.PATH, KUBECONFIG: '/dev/null', HOME: '/nonexistent' },
  }).toString()
  return (JSON.parse(json) as { data: Record<string, unknown> }).data
}

describe('manifest loader reads YAML as kubectl does', () => {
  const text =
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: t\ndata:\n' +
    Object.entries(cases)
      .map(([k, v]) => `  v_${k}: ${v}\n`)
      .join('')
  const ours = parseManifestText(text, 'cases.yaml')[0].value.data as Record<string, unknown>
  const theirs = kubectlReading(text)

  test.each(Object.keys(cases))('%s', (key) => {
    expect(ours[`v_${key}`]).toEqual(theirs[`v_${key}`])
    expect(`v_${key}` in theirs).toBe(true)
  })

  test('the table covers the values that differ between YAML 1.1 and 1.2', () => {
    expect(ours.v_octal).toBe(420)
    expect(ours.v_yes).toBe(true)
    expect(ours.v_sexagesimal).toBe('1:20')
  })

  test('what it writes, kubectl reads back to the same values', () => {
    const written = toYaml({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 't' },
      data: ours,
    })
    expect(kubectlReading(written)).toEqual(theirs)
    expect(parseManifestText(written, 'written.yaml')[0].value.data).toEqual(ours)
  })

  test('strings that look like other things are quoted when written', () => {
    const strings = { a: 'yes', b: '0644', c: '1:20', d: '0o17', e: '2001-12-14', f: 'y', g: '1e3' }
    const back = parseManifestText(toYaml(strings), 'x')[0].value
    expect(back).toEqual(strings)
    expect(
      kubectlReading(
        toYaml({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 't' }, data: strings }),
      ),
    ).toEqual(strings)
  })
})

test('keys, a key given twice, merge keys and anchors are read as kubectl reads them', () => {
  const text = [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: t',
    'data:',
    '  y: "yes as a key"',
    '  dup: "first"',
    '  dup: "second"',
    '  base: &base {a: "1", b: "2"}',
    '  merged: {<<: *base, b: "3"}',
    '  list: [&x "one", *x]',
    '',
  ].join('\n')
  const ours = parseManifestText(text, 'keys.yaml')[0].value.data
  expect(ours).toEqual(kubectlReading(text))
  expect(ours).toMatchObject({ true: 'yes as a key', dup: 'second', merged: { a: '1', b: '3' } })
})

describe('manifest loader limits and errors', () => {
  test('a billion-laughs document is refused', () => {
    const lines = ['a: &a [x,x,x,x,x,x,x,x,x,x]']
    for (let i = 1; i < 10; i++) {
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      )
    }
    expect(() => parseManifestText(lines.join('\n'), 'bomb.yaml')).toThrow(/bomb.yaml: .*alias/i)
  })

  test('deep nesting, as in a CRD schema, is read', () => {
    const depth = 150
    const text =
      Array.from({ length: depth }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n') + ' x\n'
    let value: unknown = parseManifestText(text, 'deep.yaml')[0].value
    for (let i = 0; i < depth; i++) value = (value as Record<string, unknown>)[`k${i}`]
    expect(value).toBe('x')
  })

  test('a text over the size limit is refused before parsing', () => {
    expect(() => parseManifestText('a: b\n'.repeat(100), 'big.yaml', { maxBytes: 100 })).toThrow(
      'big.yaml: larger than the limit of 100 bytes',
    )
  })

  test('malformed YAML names the file', () => {
    expect(() => parseManifestText('a: [b\n', 'bad.yaml')).toThrow(
      /^bad.yaml: invalid YAML: .* at line \d+, column \d+$/,
    )
  })

  test('a document that is not a mapping is refused, naming the document', () => {
    expect(() => parseManifestText('a: 1\n---\n- x\n', 'list.yaml')).toThrow(
      'list.yaml (document 2): a manifest must be a mapping, found a list',
    )
  })

  test('.inf is refused as kubectl refuses it', () => {
    expect(() => parseManifestText('a: .inf\n', 'inf.yaml')).toThrow(/inf.yaml: a is Infinity/)
  })

  test('empty documents are skipped and Lists are expanded', () => {
    const docs = parseManifestText(
      '---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n',
      'list.yaml',
    )
    expect(docs.map((d) => (d.value.metadata as { name: string }).name)).toEqual(['a', 'b'])
  })
})
