// What the agent benchmarks share (bench-agent.mjs on the Node test server, bench-cluster.mjs on the real
// one): a gitops repo of apps × ConfigMaps in one namespace, a change of one app, and a timed command.
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@x',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@x',
}

export const git = (cwd, ...args) =>
  execFileSync('git', args, { cwd, env: gitEnv, stdio: ['ignore', 'pipe', 'pipe'] }).toString()

/** One ConfigMap of `app`, in namespace `ns`; `round` is what a new release changes. */
export function configMap(app, i, round, ns = 'bench') {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${app}-${i}\n  namespace: ${ns}\n  labels:\n    app: ${app}\ndata:\n  round: "${round}"\n  index: "${i}"\n  payload: "${'x'.repeat(200)}"\n`
}

/**
 * A gitops repo (a bare remote and a work tree in `work`) with `apps` apps of `per` ConfigMaps each under
 * releases/bench/, all in namespace `ns`, and a unit holding that Namespace.
 */
export function makeRepo(work, name, { apps, per, ns = 'bench' }) {
  const bare = join(work, `${name}.git`)
  const tree = join(work, name)
  git(work, 'init', '-q', '--bare', '--initial-branch=main', bare)
  git(work, 'init', '-q', '--initial-branch=main', tree)
  mkdirSync(join(tree, 'releases', 'bench', 'namespace'), { recursive: true })
  writeFileSync(
    join(tree, 'releases', 'bench', 'namespace', `namespace-${ns}.yaml`),
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`,
  )
  for (let a = 0; a < apps; a++) {
    const app = `app-${String(a).padStart(2, '0')}`
    const dir = join(tree, 'releases', 'bench', app)
    mkdirSync(dir, { recursive: true })
    for (let i = 0; i < per; i++)
      writeFileSync(join(dir, `configmap-${app}-${i}.yaml`), configMap(app, i, 1, ns))
  }
  git(tree, 'add', '.')
  git(tree, 'commit', '-qm', 'bench')
  git(tree, 'push', '-q', bare, 'main')
  return { bare, tree, ns }
}

/**
 * The very requests the agent `agentNs` makes for the repo's objects, for the ceilings (raw PATCHes): the
 * objects as in git with the agent's labels and unit annotation (as src/lib/kube/labels.ts sets them), as
 * JSON, with their paths.
 */
export function agentBodies(repo, agentNs) {
  const bodies = []
  const base = join(repo.tree, 'releases', 'bench')
  for (const d of readdirSync(base)) {
    const unit = `releases/bench/${d}`
    const hash = createHash('sha256').update(unit).digest('hex').slice(0, 16)
    for (const f of readdirSync(join(base, d))) {
      const object = parse(readFileSync(join(base, d, f), 'utf8'))
      object.metadata.labels = {
        ...object.metadata.labels,
        'gitops-actions.dev/agent': agentNs,
        'gitops-actions.dev/unit': hash,
      }
      object.metadata.annotations = { 'gitops-actions.dev/unit-path': unit }
      const isNs = object.kind === 'Namespace'
      const name = object.metadata.name
      bodies.push({
        isNs,
        body: JSON.stringify(object),
        path: isNs
          ? `/api/v1/namespaces/${name}`
          : `/api/v1/namespaces/${repo.ns}/configmaps/${name}`,
      })
    }
  }
  return bodies
}

/** Rewrites app-07's 100 ConfigMaps with `round`, commits, and pushes unless told not to. */
export function changeApp(repo, round, { push = true } = {}) {
  for (let i = 0; i < 100; i++)
    writeFileSync(
      join(repo.tree, 'releases', 'bench', 'app-07', `configmap-app-07-${i}.yaml`),
      configMap('app-07', i, round, repo.ns),
    )
  git(repo.tree, 'commit', '-qam', `app-07 round ${round}`)
  if (push) git(repo.tree, 'push', '-q', repo.bare, 'main')
}

/** Runs a command to its end: its wall time in ms and its output; rejects on a non-zero exit. */
export function run(command, args) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      code === 0
        ? resolve({ ms, out, err })
        : reject(
            new Error(
              `${command} ${args.slice(0, 3).join(' ')} exited ${code}: ${err || out.slice(-2000)}`,
            ),
          )
    })
  })
}
