#!/usr/bin/env node
// Benchmarks, printed as figures (not pass/fail): `npm run bench`.
// render: the bundled action's wall time on podinfo's production overlay against the raw pinned
// `kubectl kustomize` of the same overlay, and Node's own start-up for reference.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const kubectl = join(root, '.tools', 'bin', 'kubectl')
const shared = join(
  root,
  '..',
  'shared',
  'fixtures',
  'apps',
  'podinfo',
  'deploy',
  'overlays',
  'production',
)
const overlay = existsSync(shared)
  ? shared
  : join(root, 'test', 'fixtures', 'apps', 'hello', 'overlays', 'staging')
const runs = Number(process.env.BENCH_RUNS ?? 7)

function time(command, args, env = process.env) {
  const start = process.hrtime.bigint()
  const r = spawnSync(command, args, { env, encoding: 'utf8' })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`)
  return ms
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
function measure(fn) {
  fn() // warm the page cache
  return median(Array.from({ length: runs }, fn))
}

const work = mkdtempSync(join(tmpdir(), 'gitops-bench-'))
writeFileSync(join(work, 'output'), '')
try {
  const raw = measure(() => time(kubectl, ['kustomize', overlay]))
  const nodeStart = measure(() => time(process.execPath, ['-e', '']))
  const action = measure(() =>
    time(process.execPath, [join(root, 'dist', 'render', 'index.js')], {
      PATH: process.env.PATH,
      INPUT_PATH: overlay,
      'INPUT_OUTPUT-DIR': join(work, 'out'),
      INPUT_KUSTOMIZE: kubectl,
      INPUT_IMAGES: 'ghcr.io/stefanprodan/podinfo:6.9.9',
      GITHUB_OUTPUT: join(work, 'output'),
    }),
  )
  console.log(`render (${overlay.replace(root + '/', '')}, median of ${runs}):`)
  console.log(`  raw kubectl kustomize      ${raw.toFixed(1)} ms`)
  console.log(`  render action (bundle)     ${action.toFixed(1)} ms`)
  console.log(`  node start-up              ${nodeStart.toFixed(1)} ms`)
  console.log(`  ratio action/raw           ${(action / raw).toFixed(2)}x`)
  console.log(
    `  ratio (action - node)/raw  ${((action - nodeStart) / raw).toFixed(2)}x   (goal <= 1.3x plus Node start-up)`,
  )
} finally {
  rmSync(work, { recursive: true, force: true })
}
