// The project's test API server (test/support/kube-api), bundled with ncc into .tools/bench once per change
// of its sources, for the scripts that run outside jest: the benchmarks and the demo.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** `startKubeApiServer` from the bundle (built first when its sources changed). */
export async function loadKubeApiServer() {
  const src = join(root, 'test', 'support', 'kube-api')
  const hash = createHash('sha256')
  for (const f of readdirSync(src).sort()) hash.update(f).update(readFileSync(join(src, f)))
  const out = join(root, '.tools', 'bench', hash.digest('hex').slice(0, 12))
  if (!existsSync(join(out, 'index.js'))) {
    execFileSync(
      process.execPath,
      [
        join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js'),
        'build',
        join(src, 'index.ts'),
        '-o',
        out,
        '-q',
      ],
      { cwd: root, stdio: 'inherit' },
    )
  }
  return (await import(pathToFileURL(join(out, 'index.js')).href)).startKubeApiServer
}
