// The agent's SSH key against real OpenSSH: ssh-keygen reads the keys we write (same public key, same
// fingerprint), we read the keys ssh-keygen makes (ed25519, RSA) and refuse the others (ECDSA, a
// passphrase), and git clones over SSH from sshd with a key we made.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigurationError } from '../../src/lib/errors.js'
import { generateSshKey, parsePrivateKey, type SshKey } from '../../src/lib/install/ssh-key.js'
import { bareRemote, git, gitEnv, remoteHead } from '../support/git.js'
import { sshCommand, startSshd } from '../support/sshd.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

afterAll(() => cleanupTempDirs())

function sshKeygen(...args: string[]): string {
  return execFileSync('ssh-keygen', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()
}

/** Writes the private key where only its owner may read it, as ssh requires. */
function keyFile(key: SshKey, name = 'key'): string {
  const path = join(tempDir('gitops-key-'), name)
  writeFileSync(path, key.privateKey, { mode: 0o600 })
  return path
}

/** A key pair made by ssh-keygen: the private key file's path and text, and the .pub line. */
function keygen(type: string, ...extra: string[]) {
  const path = join(tempDir('gitops-keygen-'), `id_${type}`)
  sshKeygen('-q', '-t', type, '-C', `made-by-ssh-keygen-${type}`, '-f', path, ...extra)
  return {
    path,
    text: readFileSync(path, 'utf8'),
    publicKey: readFileSync(`${path}.pub`, 'utf8').trim(),
  }
}

describe('ssh-keygen reads the keys we write', () => {
  const ours = generateSshKey('gitops-agent@test')

  test('-y derives our public key from our private key', () => {
    expect(sshKeygen('-y', '-f', keyFile(ours)).trim()).toBe(ours.publicKey)
  })

  test('-lf prints our fingerprint', () => {
    expect(sshKeygen('-lf', keyFile(ours)).trim()).toBe(
      `256 ${ours.fingerprint} gitops-agent@test (ED25519)`,
    )
  })

  test('an RSA key from PEM, written in OpenSSH format', () => {
    const pem = keygen('rsa', '-b', '3072', '-N', '', '-m', 'PEM')
    expect(pem.text).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/)
    const key = parsePrivateKey(pem.text, 'converted')
    expect(key.bits).toBe(3072)
    const path = keyFile(key)
    expect(sshKeygen('-y', '-f', path).trim()).toBe(key.publicKey)
    expect(sshKeygen('-lf', path).trim()).toBe(`3072 ${key.fingerprint} converted (RSA)`)
    expect(key.publicKey.split(' ').slice(0, 2)).toEqual(pem.publicKey.split(' ').slice(0, 2))
  })
})

describe('we read the keys ssh-keygen makes', () => {
  test.each(['ed25519', 'rsa'])('-t %s: same public key, comment and fingerprint', (type) => {
    const made = keygen(type, '-N', '')
    const key = parsePrivateKey(made.text)
    expect(key.publicKey).toBe(made.publicKey)
    expect(sshKeygen('-lf', made.path)).toContain(` ${key.fingerprint} `)
    expect(key.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/)
    // What we write for it is the same key to ssh-keygen
    expect(sshKeygen('-y', '-f', keyFile(key)).trim()).toBe(made.publicKey)
  })

  test.each([
    ['-t ecdsa', ['ecdsa', '-N', ''], /is an ECDSA key: only ed25519 and RSA keys/],
    ['-t ecdsa in PEM', ['ecdsa', '-N', '', '-m', 'PEM'], /is an ECDSA key/],
    ['a passphrase', ['ed25519', '-N', 'correct horse'], /is encrypted \(it has a passphrase\)/],
    ['RSA with a passphrase', ['rsa', '-N', 'correct horse'], /is encrypted/],
    ['RSA of 1024 bits', ['rsa', '-b', '1024', '-N', ''], /RSA key of 1024 bits/],
  ])('%s is refused, without the key in the message', (_name, args, message) => {
    const [type, ...extra] = args
    const made = keygen(type, ...extra)
    let error: unknown
    try {
      parsePrivateKey(made.text)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as Error).message).toMatch(message)
    const body = made.text.split('\n').filter((l) => l && !l.startsWith('-----'))
    for (const line of body) expect((error as Error).message).not.toContain(line.slice(0, 16))
  })
})

test('git clones over SSH with a key we made, registered read-only; the same key cannot push', async () => {
  const agent = generateSshKey('gitops-agent@test')
  const converted = parsePrivateKey(keygen('rsa', '-N', '').text)
  const server = await startSshd({ readOnlyKeys: [agent.publicKey, converted.publicKey] })
  try {
    const remote = bareRemote()
    const knownHostsPath = join(tempDir(), 'known_hosts')
    writeFileSync(knownHostsPath, `${server.hostKeyLine}\n`)
    for (const key of [agent, converted]) {
      const env = {
        ...gitEnv,
        GIT_SSH_COMMAND: sshCommand({ keyPath: keyFile(key), knownHostsPath, port: server.port }),
      }
      const dir = join(tempDir(), 'clone')
      execFileSync('git', ['clone', '--quiet', server.url(remote.path), dir], { env })
      expect(git(dir, 'rev-parse', 'HEAD').trim()).toBe(remoteHead(remote))
      git(dir, 'commit', '--quiet', '--allow-empty', '-m', 'not allowed')
      expect(() =>
        execFileSync('git', ['push', '--quiet', 'origin', 'HEAD:main'], {
          cwd: dir,
          env,
          stdio: 'pipe',
        }),
      ).toThrow(/refused for a read-only key/)
    }
  } finally {
    await server.stop()
  }
})
