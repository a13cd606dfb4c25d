#!/usr/bin/env node
// `npm run demo`: the whole flow on this machine, with nothing to set up. An app is rendered and
// released into a gitops repo (a bare repository on disk), the sync agent applies it to a cluster (the
// project's test API server, which real kubectl talks to), a second release rolls out, and a rollback
// takes it back. Every step runs the bundles in dist/ as a user runs them.
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadKubeApiServer } from './kube-api-bundle.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const kubectl = join(root, '.tools', 'bin', 'kubectl')
const app = join(root, 'test', 'fixtures', 'apps', 'hello', 'overlays', 'staging')
const work = mkdtempSync(join(tmpdir(), 'gitops-demo-'))
const gitops = join(work, 'gitops.git')
const env = {
  PATH: process.env.PATH,
  HOME: work,
  // The demo's commits, as a CI job would make them.
  GITOPS_AUTHOR_NAME: 'demo',
  GITOPS_AUTHOR_EMAIL: 'demo@example.com',
}

let step = 0
const say = (title) => console.log(`\n${++step}. ${title}`)
/** A command's output; it runs beside the in-process cluster, so never synchronously. */
function exec(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('error', reject)
    child.on('close', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`${out.trim()}\n(exit code ${code})`)),
    )
  })
}
/** Runs a bundle of dist/ (`cli` or `agent`), showing the command as a user types it. */
async function run(bundle, args, { quiet = false } = {}) {
  const shown = bundle === 'cli' ? 'gitops-actions' : 'gitops-agent'
  console.log(`   $ ${shown} ${args.map((a) => a.replace(work, '$DEMO')).join(' ')}`)
  const out = await exec(process.execPath, [join(root, 'dist', bundle, 'index.js'), ...args])
  // Its log, and the outputs that say something.
  const shownLines = out.split('\n').filter((l) => !/^[a-z-]+=$/.test(l))
  if (!quiet && out) console.log(shownLines.map((l) => `     ${l}`).join('\n'))
  return out
}
const git = (...args) => execFileSync('git', args, { encoding: 'utf8', env }).trim()

const startKubeApiServer = await loadKubeApiServer()
const cluster = await startKubeApiServer({ namespaces: ['default'], rolloutDelayMs: 200 })
const kube = (...args) =>
  exec(kubectl, [
    `--kubeconfig=${cluster.kubeconfigPath}`,
    `--cache-dir=${join(work, 'kcache')}`,
    ...args,
  ])
async function agent() {
  const out = await run(
    'agent',
    [
      '--once',
      `--git-url=file://${gitops}`,
      '--git-path=releases/staging',
      `--kubeconfig=${cluster.kubeconfigPath.replace(work, '$DEMO')}`,
      '--namespace=gitops-system',
      '--log-format=text',
      `--work-dir=${join(work, 'agent')}`,
      '--sync-garbage-collection',
    ].map((a) => a.replace('$DEMO', work)),
    { quiet: true },
  )
  for (const l of out.split('\n').filter((l) => /event=(sync|pruned|done)/.test(l)))
    console.log(`     ${l.replace(/^\S+ /, '')}`)
}
const image = () =>
  kube(
    'get',
    'deployment',
    'hello',
    '-n',
    'hello-staging',
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  )

/** What kubectl says the Deployment runs; the demo fails when it is not `tag`. */
async function expectImage(tag) {
  const running = await image()
  console.log(`   $ kubectl get deployment hello -n hello-staging: runs ${running}`)
  if (running !== `registry.example.com/team/hello:${tag}`)
    throw new Error(`the cluster runs ${running}, not hello:${tag}`)
}

/** Renders the app with `tag` and publishes it to staging. */
async function release(tag) {
  const out = join(work, `rendered-${tag}`)
  await run('cli', [
    'render',
    `--path=${relative(process.cwd(), app) || '.'}`,
    `--images=registry.example.com/team/hello:${tag}`,
    `--output-dir=${out}`,
    `--kustomize=${kubectl}`,
  ])
  await run('cli', [
    'publish-release',
    `--repository=file://${gitops}`,
    '--env=staging',
    '--app=hello',
    `--version=${tag}`,
    `--manifests=${out}`,
  ])
}

try {
  console.log(`gitops-actions demo (work folder ${work}, removed at the end)`)
  say('A gitops repo: an empty bare repository with one first commit')
  git('init', '-q', '--bare', '--initial-branch=main', gitops)
  const seed = join(work, 'seed')
  mkdirSync(seed)
  writeFileSync(join(seed, 'README.md'), '# gitops\n\nReleases live under releases/<env>/<app>/.\n')
  git('-C', seed, 'init', '-q', '--initial-branch=main')
  git('-C', seed, 'add', '.')
  git(
    '-C',
    seed,
    '-c',
    'user.name=demo',
    '-c',
    'user.email=demo@example.com',
    'commit',
    '-qm',
    'init',
  )
  git('-C', seed, 'push', '-q', gitops, 'main')

  say("Render hello 1.0.0 and publish it to staging (what the app's CI pipeline does)")
  await release('1.0.0')

  say(`The sync agent applies releases/staging to the cluster (${cluster.url})`)
  console.log(
    '   $ kubectl create namespace gitops-system   (its own namespace, as its install makes it)',
  )
  await kube('create', 'namespace', 'gitops-system')
  await agent()
  await expectImage('1.0.0')

  say('Release 1.1.0: rendered, published, synced')
  await release('1.1.0')
  await agent()
  await expectImage('1.1.0')

  say('Something is wrong with 1.1.0: roll staging back to the previous release (a git revert)')
  await run('cli', [
    'rollback',
    `--repository=file://${gitops}`,
    '--env=staging',
    '--app=hello',
    '--reason=demo: 1.1.0 misbehaves',
  ])
  await agent()
  await expectImage('1.0.0')

  say('The gitops repo keeps the whole story')
  console.log(
    git('-C', gitops, 'log', '--format=%h %s', 'main')
      .split('\n')
      .map((l) => `     ${l}`)
      .join('\n'),
  )
  console.log('\nDone: render, publish, sync, release, roll back.')
} finally {
  await cluster.stop()
  rmSync(work, { recursive: true, force: true })
}
