/**
 * Throwaway CAs and certificates, made with the `openssl` CLI: the server's (for 127.0.0.1/localhost) and
 * a client's (for a server started with `clientCa`). HTTPS with the CA in the kubeconfig is what a real
 * cluster looks like to kubectl and to `@kubernetes/client-node` (which refuses plain http unless told to
 * skip TLS verification).
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface TestCertificates {
  /** PEM of the CA that signed the certificate (for `certificate-authority-data`, or `clientCa`). */
  ca: string
  cert: string
  key: string
}

// P-256 keys: generated in milliseconds, accepted by Go's and Node's TLS alike.
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

/** A new CA and one certificate it signs, with `subject` and the `extensions` lines. */
async function generate(subject: string, extensions: string[]): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-api-tls-'))
  const at = (name: string): string => join(dir, name)
  try {
    await run('openssl', [
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.crt'),
      '-days',
      '2',
      '-subj',
      '/CN=kube-api-test-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ])
    await run('openssl', [
      'req',
      ...ecKey,
      '-keyout',
      at('leaf.key'),
      '-out',
      at('leaf.csr'),
      '-subj',
      subject,
    ])
    await writeFile(
      at('leaf.ext'),
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        ...extensions,
      ].join('\n'),
    )
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      at('leaf.csr'),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      '-set_serial',
      `0x${Date.now().toString(16)}`,
      '-days',
      '2',
      '-extfile',
      at('leaf.ext'),
      '-out',
      at('leaf.crt'),
    ])
    const [ca, cert, key] = await Promise.all(
      ['ca.crt', 'leaf.crt', 'leaf.key'].map((f) => readFile(at(f), 'utf8')),
    )
    return { ca, cert, key }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Made once per process, made again after a failure. */
function once(make: () => Promise<TestCertificates>): () => Promise<TestCertificates> {
  let cached: Promise<TestCertificates> | undefined
  return () => {
    cached ??= make().catch((error: unknown) => {
      cached = undefined
      throw error
    })
    return cached
  }
}

/** The server certificates, made once per process (every server of a test run can share them). */
export const testCertificates = once(() =>
  generate('/CN=kube-apiserver', [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'extendedKeyUsage=serverAuth',
  ]),
)

/**
 * A client certificate for the user `test-user` in the group `system:masters` (CN and O, as the API
 * server reads them), with its own CA: start a server with `clientCa: ca` to accept it.
 */
export const testClientCertificate = once(() =>
  generate('/O=system:masters/CN=test-user', ['extendedKeyUsage=clientAuth']),
)
