import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { GitClient } from '../../src/lib/git/git.js'
import type { Logger } from '../../src/lib/log.js'
import { bareRemote } from '../support/git.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

afterAll(cleanupTempDirs)

const log: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

/** Accepts connections and never answers. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: Socket[] = []
  const server: Server = createServer((s) => sockets.push(s))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return {
    port,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}

/** git processes whose command line names `needle`. */
function gitProcesses(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
  return out.split('\n').filter((l) => l.includes(needle) && /\bgit\b|remote-https/.test(l))
}

test('a repository that looks like an option is never read as one', async () => {
  const marker = join(tempDir(), 'pwned')
  for (const url of [`--upload-pack=touch ${marker}`, `-u touch ${marker}`]) {
    const dir = join(tempDir(), 'clone')
    await expect(GitClient.clone({ url, dir }, log)).rejects.toThrow(
      /is not a repository URL \(it starts with '-'\)/,
    )
    expect(existsSync(marker)).toBe(false)
  }
})

test('clone still works with a plain file:// remote', async () => {
  const remote = bareRemote()
  const dir = join(tempDir(), 'clone')
  const git = await GitClient.clone({ url: remote.url, dir, branch: 'main' }, log)
  expect(existsSync(join(dir, 'README.md'))).toBe(true)
  const blobs = await git.readBlobs([(await git.listTree('HEAD', ''))[0]])
  expect([...blobs.values()][0].toString()).toBe('# gitops repo\n')
  await git.dispose()
})

test('a remote that never answers fails within the timeout, and no git process is left', async () => {
  const server = await silentServer()
  const url = `http://127.0.0.1:${server.port}/hang.git`
  const started = Date.now()
  try {
    await expect(
      GitClient.clone({ url, dir: join(tempDir(), 'clone'), timeoutMs: 1500 }, log),
    ).rejects.toThrow(/git failed to clone .* did not finish within 1\.5 s; killed/)
    expect(Date.now() - started).toBeLessThan(6000)
    await new Promise((r) => setTimeout(r, 200))
    expect(gitProcesses(`127.0.0.1:${server.port}`)).toEqual([])
  } finally {
    await server.close()
  }
}, 20_000)
