// The agent's SSH key without any tool outside Node: made, written in OpenSSH's format and read back;
// PEM keys read and turned into the same format; other keys refused without the key in the message.
import { generateKeyPairSync } from 'node:crypto'
import { inspect } from 'node:util'
import { ConfigurationError } from '../../src/lib/errors.js'
import {
  generateSshKey,
  parsePrivateKey,
  sshFingerprint,
  type SshKey,
} from '../../src/lib/install/ssh-key.js'

/** The base64 lines of a private key file: the secret part, looked for in whatever must not hold it. */
function secretLines(privateKey: string): string[] {
  return privateKey.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('-----'))
}

/** The error `parsePrivateKey(text)` throws; it must quote nothing of `text`. */
function refusal(text: string): ConfigurationError {
  let error: unknown
  try {
    parsePrivateKey(text)
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(ConfigurationError)
  const message = (error as Error).message
  for (const line of secretLines(text)) expect(message).not.toContain(line.slice(0, 16))
  return error as ConfigurationError
}

describe('a new key', () => {
  const key = generateSshKey('gitops-agent@prod')

  test('is ed25519 in OpenSSH format, with its public key line and fingerprint', () => {
    expect(key.type).toBe('ssh-ed25519')
    expect(key.bits).toBe(256)
    expect(key.privateKey).toMatch(
      /^-----BEGIN OPENSSH PRIVATE KEY-----\n([A-Za-z0-9+/=]{70}\n)+[A-Za-z0-9+/=]{1,70}\n-----END OPENSSH PRIVATE KEY-----\n$/,
    )
    expect(key.publicKey).toMatch(
      /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} gitops-agent@prod$/,
    )
    expect(key.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    expect(sshFingerprint(key.publicKey)).toBe(key.fingerprint)
  })

  test('reads back as the same key, to the same text', () => {
    const again = parsePrivateKey(key.privateKey)
    expect(again.publicKey).toBe(key.publicKey)
    expect(again.fingerprint).toBe(key.fingerprint)
    expect(again.privateKey).toBe(key.privateKey)
    // Pasted with Windows line ends and blank lines around it, too
    const pasted = `\n  ${key.privateKey.replace(/\n/g, '\r\n')}\n\n`
    expect(parsePrivateKey(pasted).privateKey).toBe(key.privateKey)
    // Kept in a JSON string or an environment variable with its line breaks as \n
    expect(parsePrivateKey(key.privateKey.replace(/\n/g, '\\n')).privateKey).toBe(key.privateKey)
  })

  test('each is new', () => {
    expect(generateSshKey('x').publicKey).not.toBe(generateSshKey('x').publicKey)
  })

  test('neither JSON nor inspect shows the private key', () => {
    const shown = [JSON.stringify(key), inspect(key, { depth: 5, showHidden: true })]
    for (const text of shown) {
      expect(text).not.toContain('PRIVATE KEY')
      for (const line of secretLines(key.privateKey)) expect(text).not.toContain(line)
    }
    expect(JSON.parse(JSON.stringify(key))).toEqual({
      type: 'ssh-ed25519',
      bits: 256,
      publicKey: key.publicKey,
      fingerprint: key.fingerprint,
    })
  })

  test('a comment with line breaks stays on one line', () => {
    expect(generateSshKey('a\nb  c\r\n').publicKey).toMatch(/ a b c$/)
    expect(generateSshKey('').publicKey).toMatch(/^ssh-ed25519 \S+$/)
  })
})

describe('PEM keys', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  const ed = generateKeyPairSync('ed25519').privateKey

  test.each([
    ['RSA, PKCS#1', () => rsa.export({ format: 'pem', type: 'pkcs1' }).toString()],
    ['RSA, PKCS#8', () => rsa.export({ format: 'pem', type: 'pkcs8' }).toString()],
    ['ed25519, PKCS#8', () => ed.export({ format: 'pem', type: 'pkcs8' }).toString()],
  ])('%s: read, and written in OpenSSH format that reads back the same', (_name, pem) => {
    const key = parsePrivateKey(pem(), 'byo')
    expect(key.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/)
    expect(key.publicKey).toMatch(/^ssh-(rsa|ed25519) AAAA\S+ byo$/)
    const again: SshKey = parsePrivateKey(key.privateKey)
    expect(again.publicKey).toBe(key.publicKey)
    expect(again.privateKey).toBe(key.privateKey)
  })

  test('RSA keeps its size; both forms of one key give one public key', () => {
    const pkcs1 = parsePrivateKey(rsa.export({ format: 'pem', type: 'pkcs1' }).toString())
    const pkcs8 = parsePrivateKey(rsa.export({ format: 'pem', type: 'pkcs8' }).toString())
    expect(pkcs1.type).toBe('ssh-rsa')
    expect(pkcs1.bits).toBe(2048)
    expect(pkcs8.publicKey).toBe(pkcs1.publicKey)
    expect(pkcs1.publicKey).toMatch(/^ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB/)
  })
})

describe('refused, with what to do and none of the key', () => {
  test('ECDSA, DSA and short RSA keys', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    expect(refusal(ec.export({ format: 'pem', type: 'sec1' }).toString()).message).toMatch(
      /is an ECDSA key: only ed25519 and RSA keys \(2048 bits or more\)/,
    )
    expect(refusal(ec.export({ format: 'pem', type: 'pkcs8' }).toString()).message).toMatch(/ECDSA/)
    const dsa = generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).privateKey
    expect(refusal(dsa.export({ format: 'pem', type: 'pkcs8' }).toString()).message).toMatch(
      /a DSA key/,
    )
    const short = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey
    expect(refusal(short.export({ format: 'pem', type: 'pkcs1' }).toString()).message).toMatch(
      /RSA key of 1024 bits: at least 2048/,
    )
  })

  test('encrypted keys', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    const pkcs8 = rsa.export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    })
    const pkcs1 = rsa.export({
      format: 'pem',
      type: 'pkcs1',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    })
    for (const pem of [pkcs8, pkcs1]) {
      expect(refusal(pem.toString()).message).toMatch(
        /encrypted \(it has a passphrase\).*ssh-keygen -p/,
      )
    }
  })

  test('a public key, a PuTTY key, anything else', () => {
    const key = generateSshKey('me')
    expect(refusal(key.publicKey).message).toMatch(
      /is a public key: the agent needs the private key/,
    )
    expect(refusal('PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n').message).toMatch(
      /puttygen/,
    )
    expect(refusal('hunter2 is my password').message).toMatch(/not a private key in OpenSSH or PEM/)
    expect(refusal('').message).toMatch(/not a private key/)
  })

  test('a truncated or altered OpenSSH key', () => {
    const key = generateSshKey('me')
    const lines = key.privateKey.trim().split('\n')
    const truncated = [...lines.slice(0, 3), lines.at(-1)].join('\n')
    expect(refusal(truncated).message).toMatch(
      /OpenSSH\) cannot be read: it is truncated or corrupt/,
    )
    // Another key's public half beside this private half
    const body = (text: string) => Buffer.from(text.split('\n').slice(1, -2).join(''), 'base64')
    // The other key's header and public key (the first 94 bytes), this key's private part
    const spliced = Buffer.concat([
      body(generateSshKey('other').privateKey).subarray(0, 94),
      body(key.privateKey).subarray(94),
    ])
    const mixed = [lines[0], spliced.toString('base64'), lines.at(-1)].join('\n')
    expect(refusal(mixed).message).toMatch(/truncated or corrupt/)
    expect(refusal(lines.slice(0, -1).join('\n')).message).toMatch(/truncated or corrupt/)
  })

  test('an RSA key whose primes do not make its modulus', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    const key = parsePrivateKey(rsa.export({ format: 'pem', type: 'pkcs1' }).toString())
    const lines = key.privateKey.trim().split('\n')
    const data = Buffer.from(lines.slice(1, -1).join(''), 'base64')
    const q = Buffer.from(rsa.export({ format: 'jwk' }).q!, 'base64url')
    data[data.indexOf(q) + q.length - 1] ^= 2 // still odd, no longer q
    const altered = [lines[0], data.toString('base64'), lines.at(-1)].join('\n')
    expect(refusal(altered).message).toMatch(/OpenSSH\) cannot be read: it is truncated or corrupt/)
  })

  test('a corrupt PEM key', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs1' })
      .toString()
    const lines = pem.trim().split('\n')
    const cut = [...lines.slice(0, 5), lines.at(-1)].join('\n')
    expect(refusal(cut).message).toMatch(/PEM RSA PRIVATE KEY\) cannot be read/)
  })
})

test('fingerprints of public key lines; anything else is refused', () => {
  const key = generateSshKey('c')
  const [type, body] = key.publicKey.split(' ')
  expect(sshFingerprint(`${type} ${body}`)).toBe(key.fingerprint)
  expect(sshFingerprint(`  ${type}   ${body} another comment\n`)).toBe(key.fingerprint)
  expect(() => sshFingerprint('ssh-ed25519')).toThrow(/not an OpenSSH public key line/)
  expect(() => sshFingerprint('ssh-ed25519 not!base64')).toThrow(/not an OpenSSH public key line/)
})
