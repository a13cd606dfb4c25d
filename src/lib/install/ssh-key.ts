/**
 * The sync agent's SSH key: a new ed25519 key from `node:crypto`, or the user's own (OpenSSH or PEM;
 * ed25519, or RSA of 2048 bits or more), always handed back in OpenSSH's own file format
 * (`openssh-key-v1`, OpenSSH's PROTOCOL.key) with its public key line and fingerprint. The private key
 * stays out of JSON, `util.inspect` and every error message.
 */
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { ConfigurationError } from '../errors.js'

export type SshKeyType = 'ssh-ed25519' | 'ssh-rsa'

/** RSA keys shorter than this are refused (OpenSSH itself refuses below 1024). */
export const MIN_RSA_BITS = 2048

/** A key pair; only `privateKey` is secret, and it is a getter so that no serialization shows it. */
export class SshKey {
  readonly #privateKey: string

  constructor(
    readonly type: SshKeyType,
    readonly bits: number,
    /** `ssh-ed25519 AAAA… comment`: the line for `authorized_keys` or a deploy key. */
    readonly publicKey: string,
    /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
    readonly fingerprint: string,
    privateKey: string,
  ) {
    this.#privateKey = privateKey
  }

  /**
   * The OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`), unencrypted: the same text
   * for the same key and comment. For the Secret only; never for a log, an output or a file on disk.
   */
  get privateKey(): string {
    return this.#privateKey
  }
}

/** A new ed25519 key whose public key line ends in `comment`. */
export function generateSshKey(comment: string): SshKey {
  return sshKeyOf(generateKeyPairSync('ed25519').privateKey, comment)
}

/**
 * Reads a private key given by the user: OpenSSH's format or PEM (PKCS#1 `RSA PRIVATE KEY`, PKCS#8
 * `PRIVATE KEY`), unencrypted. `comment` goes on the public key when the key has none of its own.
 * Refuses other kinds of keys (ECDSA, DSA, security keys), encrypted ones, short RSA keys and public keys
 * with a `ConfigurationError` that says what to do and never quotes the key.
 */
export function parsePrivateKey(text: string, comment = ''): SshKey {
  // A key kept in a JSON string or an environment variable may come with its line breaks as `\n`
  const unescaped = text.includes('\n') ? text : text.replace(/(\\r)?\\n/g, '\n')
  const pem = unescaped.replace(/\r\n?/g, '\n').trim()
  const label = /^-----BEGIN ([A-Z0-9 ]+)-----\n/.exec(pem)?.[1]
  switch (label) {
    case 'OPENSSH PRIVATE KEY': {
      const parsed = readOpenSshKey(pem)
      return sshKeyOf(parsed.key, parsed.comment || comment)
    }
    case 'RSA PRIVATE KEY':
    case 'PRIVATE KEY':
      if (/^Proc-Type:\s*4,\s*ENCRYPTED/m.test(pem)) throw encrypted()
      return sshKeyOf(readPem(pem, label), comment)
    case 'ENCRYPTED PRIVATE KEY':
      throw encrypted()
    case 'EC PRIVATE KEY':
      throw unsupported('an ECDSA key')
    case 'DSA PRIVATE KEY':
      throw unsupported('a DSA key')
    case 'PUBLIC KEY':
    case 'RSA PUBLIC KEY':
      throw publicNotPrivate()
  }
  if (/^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/]/.test(pem) || pem.startsWith('---- BEGIN SSH2 PUBLIC')) {
    throw publicNotPrivate()
  }
  if (pem.startsWith('PuTTY-User-Key-File')) {
    throw new ConfigurationError(
      'the SSH key is in PuTTY format: convert it with `puttygen key.ppk -O private-openssh -o key`',
    )
  }
  throw new ConfigurationError(
    'the SSH key is not a private key in OpenSSH or PEM format ' +
      '(it should start with -----BEGIN OPENSSH PRIVATE KEY-----)',
  )
}

/** The `SHA256:…` fingerprint of a public key line (`type base64 [comment]`), as `ssh-keygen -l` has it. */
export function sshFingerprint(publicKey: string): string {
  const body = publicKey.trim().split(/\s+/)[1]
  if (!body || !/^[A-Za-z0-9+/]+=*$/.test(body)) {
    // Not quoted: it could be a private key given by mistake
    throw new ConfigurationError('not an OpenSSH public key line (type base64 [comment])')
  }
  return fingerprintOf(Buffer.from(body, 'base64'))
}

// Errors

function encrypted(): ConfigurationError {
  return new ConfigurationError(
    'the SSH private key is encrypted (it has a passphrase), and the agent cannot type one: ' +
      'remove it on a copy with `ssh-keygen -p -N "" -f key`, or let a new key be made',
  )
}

function unsupported(what: string): ConfigurationError {
  return new ConfigurationError(
    `the SSH private key is ${what}: only ed25519 and RSA keys (${MIN_RSA_BITS} bits or more) are ` +
      'accepted; make one with `ssh-keygen -t ed25519`, or let a new key be made',
  )
}

/** 'an ECDSA key' for `ecdsa-sha2-nistp256` or `ec`, and so on. */
function kindOf(type: string): string {
  if (/^(ecdsa|ec$)/.test(type)) return 'an ECDSA key'
  if (/^(ssh-dss|dsa$)/.test(type)) return 'a DSA key'
  if (type.startsWith('sk-')) return 'a security key (FIDO), which needs its device'
  return `a key of type ${type.replace(/[^\w@.-]/g, '?').slice(0, 40)}`
}

function publicNotPrivate(): ConfigurationError {
  return new ConfigurationError(
    'the SSH key given is a public key: the agent needs the private key (the file without .pub)',
  )
}

function corrupt(format: string): ConfigurationError {
  return new ConfigurationError(
    `the SSH private key (${format}) cannot be read: it is truncated or corrupt`,
  )
}

// From a key object to the OpenSSH forms

function sshKeyOf(key: KeyObject, rawComment: string): SshKey {
  const comment = rawComment.replace(/\s+/g, ' ').trim()
  const keyType = key.asymmetricKeyType
  if (keyType !== 'ed25519' && keyType !== 'rsa') throw unsupported(kindOf(keyType ?? 'unknown'))
  const jwk = key.export({ format: 'jwk' })
  const b64 = (field: string | undefined) => Buffer.from(field ?? '', 'base64url')
  let type: SshKeyType
  let bits: number
  let publicBlob: Buffer
  let privateFields: Buffer
  if (keyType === 'ed25519') {
    const [seed, pk] = [b64(jwk.d), b64(jwk.x)]
    type = 'ssh-ed25519'
    bits = 256
    publicBlob = Buffer.concat([sshString(type), sshString(pk)])
    privateFields = Buffer.concat([publicBlob, sshString(Buffer.concat([seed, pk]))])
  } else {
    type = 'ssh-rsa'
    bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits < MIN_RSA_BITS) {
      throw new ConfigurationError(
        `the SSH private key is an RSA key of ${bits} bits: at least ${MIN_RSA_BITS} are needed; ` +
          'make a new one with `ssh-keygen -t ed25519`, or let a new key be made',
      )
    }
    const [n, e, d, p, q, qi] = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q, jwk.qi].map(b64)
    publicBlob = Buffer.concat([sshString(type), mpint(e), mpint(n)])
    // OpenSSH's order: n e d iqmp p q
    privateFields = Buffer.concat([sshString(type), ...[n, e, d, qi, p, q].map(mpint)])
  }
  const publicKey = [type, publicBlob.toString('base64'), comment].filter(Boolean).join(' ')
  return new SshKey(
    type,
    bits,
    publicKey,
    fingerprintOf(publicBlob),
    openSshFile(publicBlob, privateFields, comment),
  )
}

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1')
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----'
const END = '-----END OPENSSH PRIVATE KEY-----'

/** An unencrypted `openssh-key-v1` file of one key, its base64 in lines of 70 as ssh-keygen writes. */
function openSshFile(publicBlob: Buffer, privateFields: Buffer, comment: string): string {
  // The check integer only tells a right passphrase from a wrong one; unencrypted, any value does. One
  // taken from the key keeps the file the same for the same key, so a re-run finds nothing to change.
  const check = createHash('sha256').update(publicBlob).digest().subarray(0, 4)
  const unpadded = Buffer.concat([check, check, privateFields, sshString(comment)])
  // Padded with 1, 2, 3… to the cipher's block size, 8 for "none"
  const padding = Buffer.from(Array.from({ length: -unpadded.length & 7 }, (_, i) => i + 1))
  const body = Buffer.concat([
    MAGIC,
    sshString('none'), // cipher
    sshString('none'), // kdf
    sshString(''), // kdf options
    uint32(1),
    sshString(publicBlob),
    sshString(Buffer.concat([unpadded, padding])),
  ]).toString('base64')
  return [BEGIN, ...(body.match(/.{1,70}/g) ?? []), END, ''].join('\n')
}

function fingerprintOf(publicBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicBlob).digest('base64').replace(/=+$/, '')}`
}

// Reading

function readPem(pem: string, label: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem' })
  } catch {
    // OpenSSL's message says nothing the user can act on, and nothing of the key either way.
    throw corrupt(`PEM ${label}`)
  }
}

/** The key and comment of an `openssh-key-v1` file, checked for one key, no encryption and consistency. */
function readOpenSshKey(pem: string): { key: KeyObject; comment: string } {
  const lines = pem.split('\n').map((line) => line.trim())
  if (lines.at(-1) !== END) throw corrupt('OpenSSH')
  const data = Buffer.from(lines.slice(1, -1).join(''), 'base64')
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt('OpenSSH')
  const file = new Reader(data.subarray(MAGIC.length))
  const cipher = file.text()
  file.string() // kdf
  file.string() // kdf options
  const count = file.uint32()
  if (count !== 1) {
    throw new ConfigurationError(`the SSH private key file holds ${count} keys: give one`)
  }
  const publicBlob = file.string()
  const publicType = new Reader(publicBlob).text()
  if (publicType !== 'ssh-ed25519' && publicType !== 'ssh-rsa')
    throw unsupported(kindOf(publicType))
  if (cipher !== 'none') throw encrypted()

  const inner = new Reader(file.string())
  if (inner.uint32() !== inner.uint32() || inner.text() !== publicType) throw corrupt('OpenSSH')
  const key = publicType === 'ssh-ed25519' ? readEd25519(inner) : readRsa(inner)
  const comment = inner.text()
  // The public key stored beside the private one must be the one the private key makes.
  if (sshKeyOf(key, '').publicKey !== `${publicType} ${publicBlob.toString('base64')}`) {
    throw corrupt('OpenSSH')
  }
  return { key, comment }
}

/** The private part of an ed25519 key: the public key, then the 32-byte seed and the public key again. */
function readEd25519(inner: Reader): KeyObject {
  const pk = inner.string()
  const secret = inner.string()
  if (pk.length !== 32 || secret.length !== 64) throw corrupt('OpenSSH')
  // PKCS#8 of an Ed25519 key is a fixed 16-byte prefix and the 32-byte seed (RFC 8410).
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex')
  const der = Buffer.concat([prefix, secret.subarray(0, 32)])
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
}

/** The private part of an RSA key: n e d iqmp p q, as a JWK (which wants d mod p-1 and q-1 too). */
function readRsa(inner: Reader): KeyObject {
  const [n, e, d, iqmp, p, q] = Array.from({ length: 6 }, () => inner.mpint())
  if (p < 2n || q < 2n || p * q !== n) throw corrupt('OpenSSH')
  const numbers = { n, e, d, p, q, dp: d % (p - 1n), dq: d % (q - 1n), qi: iqmp }
  const jwk = Object.fromEntries(Object.entries(numbers).map(([k, v]) => [k, b64url(v)]))
  try {
    return createPrivateKey({ key: { kty: 'RSA', ...jwk }, format: 'jwk' })
  } catch {
    throw corrupt('OpenSSH')
  }
}

/** SSH's wire format (RFC 4251 §5), read with bounds checks: a short file is corrupt, not a crash. */
class Reader {
  #at = 0
  constructor(private readonly data: Buffer) {}

  uint32(): number {
    if (this.#at + 4 > this.data.length) throw corrupt('OpenSSH')
    this.#at += 4
    return this.data.readUInt32BE(this.#at - 4)
  }

  string(): Buffer {
    const length = this.uint32()
    if (this.#at + length > this.data.length) throw corrupt('OpenSSH')
    this.#at += length
    return this.data.subarray(this.#at - length, this.#at)
  }

  text(): string {
    return this.string().toString('utf8')
  }

  mpint(): bigint {
    const bytes = this.string()
    if (bytes.length === 0) return 0n
    if (bytes[0] & 0x80) throw corrupt('OpenSSH') // negative: no key has one
    return BigInt(`0x${bytes.toString('hex')}`)
  }
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

function sshString(value: Buffer | string): Buffer {
  const bytes = Buffer.from(value)
  return Buffer.concat([uint32(bytes.length), bytes])
}

/** A non-negative integer from its big-endian bytes: no leading zeros, but one if the top bit is set. */
function mpint(bytes: Buffer): Buffer {
  let start = 0
  while (start < bytes.length && bytes[start] === 0) start++
  const trimmed = bytes.subarray(start)
  return sshString(trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed)
}

function b64url(n: bigint): string {
  const hex = n.toString(16)
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url')
}
