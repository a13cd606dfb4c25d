/**
 * A throwaway CA and a server certificate for 127.0.0.1/localhost, made with the `openssl` CLI.
 * HTTPS with the CA in the kubeconfig is what a real cluster looks like to kubectl and to
 * `@kubernetes/client-node` (which refuses plain http unless told to skip TLS verification).
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface TestCertificates {
  /** PEM of the CA that signed the server certificate (for `certificate-authority-data`). */
  ca: string
  cert: string
  key: string
}

async function generate(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-api-tls-'))
  const at = (name: string): string => join(dir, name)
  try {
    // P-256 keys: generated in milliseconds, accepted by Go's and Node's TLS alike.
    const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
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
      at('server.key'),
      '-out',
      at('server.csr'),
      '-subj',
      '/CN=kube-apiserver',
    ])
    await writeFile(
      at('server.ext'),
      [
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
      ].join('\n'),
    )
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      at('server.csr'),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      '-set_serial',
      `0x${Date.now().toString(16)}`,
      '-days',
      '2',
      '-extfile',
      at('server.ext'),
      '-out',
      at('server.crt'),
    ])
    const [ca, cert, key] = await Promise.all(
      ['ca.crt', 'server.crt', 'server.key'].map((f) => readFile(at(f), 'utf8')),
    )
    return { ca, cert, key }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

let cached: Promise<TestCertificates> | undefined

/** The certificates, made once per process (every server of a test run can share them). */
export function testCertificates(): Promise<TestCertificates> {
  cached ??= generate().catch((error: unknown) => {
    cached = undefined
    throw error
  })
  return cached
}
