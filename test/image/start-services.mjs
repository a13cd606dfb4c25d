#!/usr/bin/env node
// Starts test/image/services.ts (the test API server and sshd that scripts/test-image.sh runs the image
// against), bundled with ncc into .tools/image-test/ once per change of its sources, as
// scripts/bench-agent.mjs bundles the test API server: a plain node process, no ts-jest.
//   node test/image/start-services.mjs OUT_DIR
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const sources = [
  join(root, 'test', 'image', 'services.ts'),
  join(root, 'test', 'support', 'sshd.ts'),
  join(root, 'test', 'support', 'tmp.ts'),
  ...readdirSync(join(root, 'test', 'support', 'kube-api'))
    .sort()
    .map((f) => join(root, 'test', 'support', 'kube-api', f)),
]
const hash = createHash('sha256')
for (const f of sources) hash.update(f).update(readFileSync(f))
const out = join(root, '.tools', 'image-test', `services-${hash.digest('hex').slice(0, 12)}`)
if (!existsSync(join(out, 'index.js'))) {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js'), 'build', sources[0], '-o', out, '-q'],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  )
}
await import(pathToFileURL(join(out, 'index.js')).href)
