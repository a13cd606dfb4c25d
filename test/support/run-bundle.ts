/**
 * Runs a bundled entry the way its host runs it: an action as a GitHub runner does (INPUT_* variables,
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files), or the CLI with arguments.
 */
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { dist } from './paths.js'
import { tempDir } from './tmp.js'

export interface BundleRun {
  code: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
}

function spawnNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env,
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }))
  })
}

/** Parses a `GITHUB_OUTPUT` file (`name=value` lines and `name<<DELIM` blocks). */
export function parseGithubOutput(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i])
    if (heredoc) {
      const body: string[] = []
      while (++i < lines.length && lines[i] !== heredoc[2]) body.push(lines[i])
      out[heredoc[1]] = body.join('\n')
    } else if (lines[i].includes('=')) {
      const eq = lines[i].indexOf('=')
      out[lines[i].slice(0, eq)] = lines[i].slice(eq + 1)
    }
  }
  return out
}

/** Runs `dist/<action>/index.js` with `inputs` as INPUT_* variables, as a runner does. */
export async function runActionBundle(
  action: string,
  inputs: Record<string, string>,
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<BundleRun> {
  const dir = tempDir('gitops-runner-')
  const outputFile = join(dir, 'output')
  const summaryFile = join(dir, 'summary')
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: dir,
    ...options.env,
  }
  for (const [name, value] of Object.entries(inputs)) {
    // The runner's rule: upper case, spaces to underscores; dashes are kept.
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }
  const r = await spawnNode(dist(action), [], env, options.cwd ?? dir)
  return {
    ...r,
    outputs: parseGithubOutput(readFileSync(outputFile, 'utf8')),
    summary: readFileSync(summaryFile, 'utf8'),
  }
}

/** Runs `dist/<entry>/index.js args…` with the test's environment (plus `env`). */
export async function runNode(
  entry: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env }
  return spawnNode(dist(entry), args, env, options.cwd ?? process.cwd())
}

/** Runs `dist/cli/index.js args…`; outputs are read from its stdout `key=value` lines. */
export async function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<BundleRun> {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env }
  const r = await spawnNode(dist('cli'), args, env, options.cwd ?? process.cwd())
  const outputs: Record<string, string> = {}
  for (const line of r.stdout.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) outputs[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return { ...r, outputs, summary: '' }
}
