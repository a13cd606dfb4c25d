// Secrets, grepped everywhere: every action (as a runner runs it) and every CLI command, given a token,
// a real SSH key and webhook URLs with credentials, against a gitops remote served over HTTP (token)
// and SSH (key). Then stdout, stderr, the outputs, the job summary, every object of the gitops remote,
// and every file left in TMPDIR, RUNNER_TEMP, HOME and the workspace (a kept .git/config included) are
// searched for each secret: 0 hits. The same after SIGTERM (SIGINT, SIGHUP) in the middle of a push, and
// for the agent.
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AGENT_NS, agentArgs } from '../support/agent.js'
import { processesWith, runGuarded, sleepingHook } from '../support/faults.js'
import { startGitHttp, type GitHttpServer } from '../support/git-http.js'
import { bareRemote, manifestsFolder, pushFiles, type Remote } from '../support/git.js'
import { startKubeApiServer } from '../support/kube-api/index.js'
import { fixtures, kubectl } from '../support/paths.js'
import { runActionBundle, runCli, runNode } from '../support/run-bundle.js'
import { generateSshKey, startSshd, type SshKey, type SshServer } from '../support/sshd.js'
import { cleanupTempDirs, tempCopy, tempDir } from '../support/tmp.js'
import { recordFault } from './report.js'

const TOKEN = `ghs_${randomBytes(18).toString('hex')}`
const HOOK_PASS = `hookpass${randomBytes(8).toString('hex')}`
const HOOK_TOKEN = `hooktoken${randomBytes(8).toString('hex')}`
const WEBHOOK = `https://hookuser:${HOOK_PASS}@127.0.0.1:1/hook/${HOOK_TOKEN}`
const STATUS_TOKEN = `glpat-${randomBytes(12).toString('hex')}`
/** Webhook URLs as a pipeline's environment holds them. */
const WEBHOOK_ENV = {
  SLACK_WEBHOOK_URL: WEBHOOK,
  TEAMS_WEBHOOK_URL: WEBHOOK,
  GITOPS_NOTIFY: `slack:${WEBHOOK}`,
}

let key: SshKey
let sshd: SshServer
let http: GitHttpServer
let needles: { name: string; text: string }[]

beforeAll(async () => {
  key = await generateSshKey(tempDir('gitops-keys-'), 'publisher')
  sshd = await startSshd({ readWriteKeys: [key.publicKey] })
  // Every remote of the tests lives under the temp folder: one server serves them all.
  http = await startGitHttp(tmpdir(), 'x-access-token', TOKEN)
  // The key whole, and each of its base64 lines (runners print multi-line secrets line by line).
  const keyLines = key.privateKey
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 8 && !l.startsWith('-----'))
  needles = [
    { name: 'token', text: TOKEN },
    { name: 'ssh key', text: key.privateKey.trim() },
    ...keyLines.map((text, i) => ({ name: `ssh key line ${i + 2}`, text })),
    { name: 'webhook password', text: HOOK_PASS },
    { name: 'webhook path token', text: HOOK_TOKEN },
    { name: 'status token', text: STATUS_TOKEN },
  ]
}, 60_000)

afterAll(async () => {
  await http?.close()
  await sshd?.stop()
  cleanupTempDirs()
})

// Surfaces and hits

type Surface =
  | 'stdout'
  | 'stderr'
  | 'outputs'
  | 'job summary'
  | 'files left (TMPDIR, RUNNER_TEMP, HOME, workspace)'
/** Hits per surface, and runs per surface, over the whole file. */
const tally = new Map<string, { tries: number; clean: number; hits: number }>()
const found: string[] = []

function hitsIn(text: string): { name: string; count: number }[] {
  return needles
    .map(({ name, text: needle }) => ({ name, count: text.split(needle).length - 1 }))
    .filter((h) => h.count > 0)
}

function count(surface: string, run: string, text: string): void {
  const hits = hitsIn(text)
  const total = hits.reduce((sum, h) => sum + h.count, 0)
  const row = tally.get(surface) ?? { tries: 0, clean: 0, hits: 0 }
  row.tries++
  row.clean += total === 0 ? 1 : 0
  row.hits += total
  tally.set(surface, row)
  for (const h of hits) found.push(`${run}: ${surface}: ${h.name} ×${h.count}`)
}

/** Every regular file under `dir` (symlinks not followed), with its bytes as latin1 text. */
function filesUnder(dir: string): { path: string; text: string }[] {
  if (!existsSync(dir)) return []
  const out: { path: string; text: string }[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name)
    if (entry.isFile() && statSync(path).size < 64 * 1024 * 1024)
      out.push({ path, text: readFileSync(path, 'latin1') })
  }
  return out
}

/** The folders one run gets to itself: its temp folders, its HOME and its workspace. */
type RunDirs = ReturnType<typeof runDirs>
function runDirs() {
  const root = tempDir('gitops-secrets-run-')
  const dirs = {
    tmp: join(root, 'tmp'),
    runnerTemp: join(root, 'runner-temp'),
    home: join(root, 'home'),
    workspace: join(root, 'workspace'),
  }
  for (const d of Object.values(dirs)) execFileSync('mkdir', ['-p', d])
  return dirs
}

function countFilesLeft(run: string, dirs: RunDirs): void {
  const text = Object.values(dirs)
    .flatMap(filesUnder)
    .map((f) => `${f.path}\n${f.text}`)
    .join('\n')
  count('files left (TMPDIR, RUNNER_TEMP, HOME, workspace)', run, text)
}

const surfaceNames: Record<Surface, string> = {
  stdout: 'secrets: stdout',
  stderr: 'secrets: stderr',
  outputs: 'secrets: outputs (GITHUB_OUTPUT, CLI key=value, dotenv)',
  'job summary': 'secrets: job summary',
  'files left (TMPDIR, RUNNER_TEMP, HOME, workspace)':
    'secrets: files left in TMPDIR, RUNNER_TEMP, HOME, workspace',
}

// The runs

type Auth = 'token' | 'ssh key'

function repoFor(target: Remote, auth: Auth): Record<string, string> {
  return auth === 'token'
    ? { repository: http.url(target.path), token: TOKEN }
    : {
        repository: sshd.url(target.path),
        'ssh-key': key.privateKey,
        'known-hosts': sshd.hostKeyLine,
      }
}

/** One step: a command with its inputs (render first, then a publish/rollback/unpin chain that works). */
interface Step {
  command: string
  auth: Auth
  inputs: Record<string, string>
}

function chain(target: Remote): Step[] {
  const app = { env: 'staging', app: 'shop' }
  const publish = (version: string, auth: Auth): Step => ({
    command: 'publish-release',
    auth,
    inputs: {
      ...app,
      ...repoFor(target, auth),
      manifests: manifestsFolder('shop', `acme/shop:${version}`),
      version,
      'source-commit': 'a'.repeat(40),
    },
  })
  const repo = (command: string, auth: Auth, extra: Record<string, string> = {}): Step => ({
    command,
    auth,
    inputs: { ...app, ...repoFor(target, auth), ...extra },
  })
  return [
    // render's inputs are made per run (its output goes to the run's workspace).
    { command: 'render', auth: 'token', inputs: {} },
    publish('1.0.0', 'token'),
    publish('1.1.0', 'ssh key'),
    repo('rollback', 'token', { to: 'previous' }),
    repo('unpin', 'ssh key'),
    publish('1.2.0', 'token'),
    repo('rollback', 'ssh key', { to: 'previous' }),
    repo('unpin', 'token'),
  ]
}

function renderInputs(workspace: string): Record<string, string> {
  return {
    path: join(tempCopy(join(fixtures, 'apps', 'hello')), 'overlays', 'staging'),
    'output-dir': join(workspace, 'out'),
    kustomize: kubectl,
  }
}

/**
 * The log a runner shows of an action's stdout: `::add-mask::<secret>` commands are how an action hands
 * its secrets to the runner, which takes them out of the log; the rest is printed (masked by the runner,
 * but a secret that the action never handed over would show).
 */
function runnerLog(stdout: string): string {
  return stdout
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n')
}

/** Runs one step through the action bundle, as a runner does; the surfaces it leaves. */
async function runAction(step: Step, dirs: RunDirs) {
  // render takes no token or key; a job's environment may hold them anyway.
  const inputs =
    step.command === 'render'
      ? { ...step.inputs, token: TOKEN, 'ssh-key': key.privateKey }
      : step.inputs
  const r = await runActionBundle(step.command, inputs, {
    cwd: dirs.workspace,
    env: {
      ...WEBHOOK_ENV,
      HOME: dirs.home,
      TMPDIR: dirs.tmp,
      RUNNER_TEMP: dirs.runnerTemp,
      GITHUB_WORKSPACE: dirs.workspace,
    },
  })
  return {
    code: r.code,
    failure: r.code ? (r.stdout.match(/::error::.*/g) ?? [r.stderr]).join(' | ') : '',
    surfaces: {
      stdout: runnerLog(r.stdout),
      stderr: r.stderr,
      outputs: Object.entries(r.outputs)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
      'job summary': r.summary,
    },
  }
}

/**
 * Runs one step through the CLI bundle. The token and key go as flags on publish (the README's way)
 * and through GITOPS_TOKEN / GITOPS_SSH_KEY elsewhere, so both ways are grepped.
 */
async function runCliStep(step: Step, dirs: RunDirs) {
  const dotenv = join(dirs.workspace, 'outputs.env')
  const inputs = { ...step.inputs }
  const env: Record<string, string> = {}
  if (step.command === 'render') {
    env.GITOPS_TOKEN = TOKEN
    env.GITOPS_SSH_KEY = key.privateKey
  } else if (step.command !== 'publish-release') {
    if (inputs.token) env.GITOPS_TOKEN = inputs.token
    if (inputs['ssh-key']) env.GITOPS_SSH_KEY = inputs['ssh-key']
    delete inputs.token
    delete inputs['ssh-key']
  }
  const args = [
    step.command,
    ...Object.entries(inputs).flatMap(([k, v]) => [`--${k}`, v]),
    '--dotenv',
    dotenv,
  ]
  const r = await runCli(args, {
    cwd: dirs.workspace,
    env: { ...WEBHOOK_ENV, ...env, HOME: dirs.home, TMPDIR: dirs.tmp },
  })
  return {
    code: r.code,
    failure: r.code ? r.stderr.trim() : '',
    surfaces: {
      stdout: r.stdout,
      stderr: r.stderr,
      outputs: existsSync(dotenv) ? readFileSync(dotenv, 'utf8') : '',
    },
  }
}

const remotes: Remote[] = []

describe.each([
  ['every action, as a runner runs it', 'action', runAction],
  ['every CLI command', 'cli', runCliStep],
] as const)(
  '%s: render, publish-release, rollback, unpin with a token, an SSH key and webhook URLs',
  (_title, how, run) => {
    test('0 hits on every surface of every run', async () => {
      const target = bareRemote()
      remotes.push(target)
      const failures: string[] = []
      for (const [i, step] of chain(target).entries()) {
        const dirs = runDirs()
        const inputs = step.command === 'render' ? renderInputs(dirs.workspace) : step.inputs
        const r = await run({ ...step, inputs }, dirs)
        const name = `${how} ${step.command} (step ${i + 1}, ${step.auth})`
        for (const [surface, text] of Object.entries(r.surfaces)) count(surface, name, text)
        countFilesLeft(name, dirs)
        if (r.code !== 0) failures.push(`${name}: exit ${r.code}: ${r.failure}`)
      }
      // Every step ran to its end (a step that failed early would prove little).
      expect(failures).toEqual([])
    }, 240_000)
  },
)

// Stopped in the middle of a push (a cancelled job: SIGTERM; Ctrl-C: SIGINT; a closed terminal: SIGHUP)

describe('stopped after the clone, while the remote is slow to take the push', () => {
  test.each([
    ['action', 'SIGTERM'],
    ['cli', 'SIGTERM'],
    ['cli', 'SIGINT'],
    ['cli', 'SIGHUP'],
  ] as const)(
    '%s, %s',
    async (how, signal) => {
      const slow = bareRemote()
      remotes.push(slow)
      sleepingHook(slow.path, 20)
      const dirs = runDirs()
      const inputs = {
        repository: sshd.url(slow.path),
        'ssh-key': key.privateKey,
        'known-hosts': sshd.hostKeyLine,
        token: TOKEN,
        env: 'staging',
        app: 'shop',
        manifests: manifestsFolder('shop', 'acme/shop:1.0.0'),
        version: '1.0.0',
      }
      const outputFile = join(dirs.workspace, 'github-output')
      const summaryFile = join(dirs.workspace, 'github-summary')
      writeFileSync(outputFile, '')
      writeFileSync(summaryFile, '')
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        ...WEBHOOK_ENV,
        HOME: dirs.home,
        TMPDIR: dirs.tmp,
        RUNNER_TEMP: dirs.runnerTemp,
      }
      let entry: string
      let args: string[]
      if (how === 'action') {
        entry = 'publish-release'
        args = []
        Object.assign(env, { GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile })
        for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
      } else {
        entry = 'cli'
        const { 'ssh-key': sshKey, ...rest } = inputs
        env.GITOPS_SSH_KEY = sshKey
        args = ['publish-release', ...Object.entries(rest).flatMap(([k, v]) => [`--${k}`, v])]
      }
      const run = await runGuarded(entry, args, {
        env,
        cwd: dirs.workspace,
        guardMs: 60_000,
        // "Committed …" is logged after the clone, just before the push the hook holds up.
        signalWhen: { output: /Committed [0-9a-f]{7,}/, signal },
      })
      const name = `${how} publish-release, ${signal} mid-push`
      const leftTmp = readdirSync(dirs.tmp)
      const leftRunnerTemp = readdirSync(dirs.runnerTemp)
      // Its ssh client (`ssh … git-receive-pack '<path>'`) must not outlive it either.
      await new Promise((r) => setTimeout(r, 500))
      const sshLeft = processesWith(slow.path).filter((p) => p.args.startsWith('ssh '))
      for (const p of sshLeft) {
        try {
          process.kill(p.pid, 'SIGKILL')
        } catch {
          // gone meanwhile
        }
      }
      count('stdout', name, how === 'action' ? runnerLog(run.stdout) : run.stdout)
      count('stderr', name, run.stderr)
      count('outputs', name, readFileSync(outputFile, 'utf8'))
      count('job summary', name, readFileSync(summaryFile, 'utf8'))
      countFilesLeft(name, dirs)
      const left = leftTmp.length + leftRunnerTemp.length + sshLeft.length
      recordFault({
        fault: `secrets: ${signal} mid-push (${how}), temp folders and ssh left`,
        tries: 1,
        recovered: left === 0 && !run.killedByGuard ? 1 : 0,
        lost: left,
      })
      expect({
        killedByGuard: run.killedByGuard,
        signalled: /Committed/.test(run.stdout + run.stderr),
      }).toEqual({
        killedByGuard: false,
        signalled: true,
      })
      expect({
        tmp: leftTmp,
        runnerTemp: leftRunnerTemp,
        ssh: sshLeft.map((p) => p.args),
      }).toEqual({ tmp: [], runnerTemp: [], ssh: [] })
    },
    90_000,
  )
})

// The agent

test('the agent (--once) with webhook URLs and a status token: none in its output or its folders', async () => {
  const server = await startKubeApiServer({ namespaces: ['default', AGENT_NS], rolloutDelayMs: 20 })
  try {
    const agentRemote = bareRemote()
    pushFiles(agentRemote, {
      'releases/staging/shop/configmap-shop.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\n  namespace: default\ndata:\n  a: "1"\n',
      'releases/staging/shop/release.json': JSON.stringify({
        app: 'shop',
        env: 'staging',
        version: '1.0.0',
        digest: 'sha256:1',
        sourceRepo: 'https://github.com/acme/shop',
        sourceCommit: 'b'.repeat(40),
      }),
    })
    const dirs = runDirs()
    const r = await runNode(
      'agent',
      agentArgs(
        server,
        agentRemote,
        [
          '--once',
          '--notify',
          'env:GITOPS_NOTIFY_URLS',
          '--status-token',
          'env:GITOPS_STATUS_TOKEN',
          '--status-api-url',
          'http://127.0.0.1:1',
        ],
        join(dirs.tmp, 'agent-work'),
      ),
      {
        env: {
          ...WEBHOOK_ENV,
          GITOPS_NOTIFY_URLS: `${WEBHOOK}\nslack:${WEBHOOK}`,
          GITOPS_STATUS_TOKEN: STATUS_TOKEN,
          HOME: dirs.home,
          TMPDIR: dirs.tmp,
          POD_NAME: 'gitops-agent-0',
        },
        cwd: dirs.workspace,
      },
    )
    const name = 'agent --once'
    const output = `${r.stdout}\n${r.stderr}`
    const hits = hitsIn(output)
    const lost = hits.reduce((sum, h) => sum + h.count, 0)
    for (const h of hits) found.push(`${name}: output: ${h.name} ×${h.count}`)
    countFilesLeft(name, dirs)
    recordFault({
      fault: 'secrets: agent output (webhooks, status token)',
      tries: 1,
      recovered: lost ? 0 : 1,
      lost,
    })
    // It did try to notify and to post statuses (both unreachable), so the secrets were in play.
    expect(output).toMatch(/notify|webhook/i)
    expect({ code: r.code, hits }).toEqual({ code: 0, hits: [] })
  } finally {
    await server.stop()
  }
}, 120_000)

// The remote and the table

test('the gitops remotes hold no secret in any object of any ref', () => {
  let lost = 0
  let clean = 0
  const hits: string[] = []
  for (const target of remotes) {
    const objects = execFileSync(
      'git',
      ['-C', target.path, 'cat-file', '--batch-all-objects', '--batch'],
      { maxBuffer: 512 * 1024 * 1024 },
    ).toString('latin1')
    const found = hitsIn(objects)
    lost += found.reduce((sum, h) => sum + h.count, 0)
    clean += found.length === 0 ? 1 : 0
    hits.push(...found.map((h) => `${target.path}: ${h.name} ×${h.count}`))
  }
  recordFault({
    fault: 'secrets: gitops remotes (every object)',
    tries: remotes.length,
    recovered: clean,
    lost,
  })
  expect(remotes.length).toBeGreaterThan(0)
  expect(hits).toEqual([])
})

afterAll(() => {
  for (const [surface, row] of tally) {
    recordFault({
      fault: surfaceNames[surface as Surface] ?? `secrets: ${surface}`,
      tries: row.tries,
      recovered: row.clean,
      lost: row.hits,
    })
  }
})

test('no secret on any surface of any run', () => {
  expect(found).toEqual([])
})
