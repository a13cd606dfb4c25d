#!/usr/bin/env node
// Benchmarks, printed as figures (not pass/fail): `npm run bench`.
// render: the bundled action's wall time on podinfo's production overlay against the raw pinned
// `kubectl kustomize` of the same overlay, and Node's own start-up for reference.
// publish: one publish to a bare remote on disk, and 20 publishes of 20 apps started at once.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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

  // publish
  const git = (cwd, ...args) => {
    const r = spawnSync('git', args, {
      cwd,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'b',
        GIT_AUTHOR_EMAIL: 'b@x',
        GIT_COMMITTER_NAME: 'b',
        GIT_COMMITTER_EMAIL: 'b@x',
      },
    })
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`)
  }
  const remote = join(work, 'gitops.git')
  git(work, 'init', '-q', '--bare', '--initial-branch=main', remote)
  git(work, 'init', '-q', '--initial-branch=main', join(work, 'seed'))
  writeFileSync(join(work, 'seed', 'README.md'), 'gitops\n')
  git(join(work, 'seed'), 'add', '.')
  git(join(work, 'seed'), 'commit', '-qm', 'init')
  git(join(work, 'seed'), 'push', '-q', remote, 'main')
  const manifests = (app, version) => {
    const dir = join(work, 'm', `${app}-${version}`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(
      join(dir, `configmap-${app}.yaml`),
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${app}\ndata:\n  version: "${version}"\n`,
    )
    return dir
  }
  const cli = join(root, 'dist', 'cli', 'index.js')
  const publishArgs = (app, version) => [
    cli,
    'publish-release',
    '--repository',
    `file://${remote}`,
    '--env',
    'bench',
    '--app',
    app,
    '--manifests',
    manifests(app, version),
    '--version',
    version,
  ]
  const runAsync = (args) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (err += d))
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(err))))
    })
  let n = 0
  const one = median(
    Array.from({ length: 5 }, () => time(process.execPath, publishArgs('solo', `1.0.${n++}`))),
  )
  const start = process.hrtime.bigint()
  const outs = await Promise.all(
    Array.from({ length: 20 }, (_, i) => runAsync(publishArgs(`app-${i}`, '1.0.0'))),
  )
  const many = Number(process.hrtime.bigint() - start) / 1e6
  const attempts = outs.map((o) => Number(/^attempts=(\d+)$/m.exec(o)?.[1] ?? 0))
  console.log('publish (CLI bundle, bare remote on disk):')
  console.log(`  one publish (median of 5)         ${one.toFixed(0)} ms`)
  console.log(
    `  20 concurrent publishes, wall     ${many.toFixed(0)} ms  (${(many / one).toFixed(1)}x one publish)`,
  )
  console.log(
    `  push attempts: total ${attempts.reduce((a, b) => a + b, 0)}, max ${Math.max(...attempts)} (20 would be no contention)`,
  )
} finally {
  rmSync(work, { recursive: true, force: true })
}
