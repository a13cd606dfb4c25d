/**
 * Finding the kustomize to run, asking its version, and building a kustomization, with image and
 * namespace overrides applied through a temporary overlay so that the user's files are never touched.
 */
import { existsSync, promises as fs, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join, relative, resolve } from 'node:path'
import { ConfigurationError } from '../errors.js'
import type { Logger } from '../log.js'
import { ProcessLimitError, runCommand, type RunResult } from '../process/run.js'
import { toYaml } from '../manifests/yaml.js'

/** A kustomize to run: `kustomize build` or `kubectl kustomize`. */
export interface Kustomize {
  /** The program to start. */
  program: string
  /** Arguments before the directory: `['build']` or `['kustomize']`. */
  subcommand: string[]
  /** For logs: `kustomize (/usr/bin/kustomize)` or `kubectl kustomize (/usr/bin/kubectl)`. */
  label: string
}

/** Looks a program up on PATH. */
export function which(program: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, program)
    try {
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/**
 * The kustomize to use: the `kustomize` input (a path to a kustomize or kubectl binary, or the word
 * `kubectl`), else `GITOPS_KUSTOMIZE`, else a standalone `kustomize` on PATH, else `kubectl kustomize`.
 */
export function resolveKustomize(choice: string | undefined, env = process.env): Kustomize {
  const wanted = choice ?? env.GITOPS_KUSTOMIZE
  if (wanted) {
    if (wanted === 'kubectl' || wanted === 'kustomize') {
      const found = which(wanted, env.PATH)
      if (!found) throw new ConfigurationError(`kustomize: '${wanted}' is not on PATH`)
      return forBinary(found)
    }
    const path = resolve(wanted)
    if (!existsSync(path)) {
      throw new ConfigurationError(
        `kustomize: ${wanted} does not exist (give a path, or 'kubectl')`,
      )
    }
    return forBinary(path)
  }
  const standalone = which('kustomize', env.PATH)
  if (standalone) return forBinary(standalone)
  const kubectl = which('kubectl', env.PATH)
  if (kubectl) return forBinary(kubectl)
  throw new ConfigurationError(
    'kustomize: neither kustomize nor kubectl is on PATH; install one or set the kustomize input',
  )
}

function forBinary(path: string): Kustomize {
  const isKubectl = /kubectl[^/]*$/.test(path)
  return isKubectl
    ? { program: path, subcommand: ['kustomize'], label: `kubectl kustomize (${path})` }
    : { program: path, subcommand: ['build'], label: `kustomize (${path})` }
}

/** The kustomize version (`v5.5.0`), as the binary reports it. */
export async function kustomizeVersion(k: Kustomize): Promise<string> {
  if (k.subcommand[0] === 'kustomize') {
    const r = await runCommand(k.program, ['version', '--client', '-o', 'json'], {
      timeoutMs: VERSION_TIMEOUT_MS,
      label: `${k.label} version`,
    })
    if (r.code === 0) {
      const v = (JSON.parse(r.stdout) as { kustomizeVersion?: string }).kustomizeVersion
      if (v) return v
    }
    throw new ConfigurationError(
      `kustomize: ${k.label} did not report a kustomize version: ${r.stderr.trim()}`,
    )
  }
  const r = await runCommand(k.program, ['version'], {
    timeoutMs: VERSION_TIMEOUT_MS,
    label: `${k.label} version`,
  })
  const match = /v\d+\.\d+\.\d+[^\s]*/.exec(r.stdout)
  if (r.code !== 0 || !match) {
    throw new ConfigurationError(
      `kustomize: ${k.label} did not report its version: ${r.stderr.trim()}`,
    )
  }
  return match[0]
}

/** One image override, in kustomize's `images:` form. */
export interface ImageOverride {
  name: string
  newName?: string
  newTag?: string
  digest?: string
}

const IMAGE_NAME =
  /^[a-z0-9]+(?:[._-][a-z0-9]+|__)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/i
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^sha256:[a-f0-9]{64}$/

/**
 * Parses `name=newName:tag`, `name=newName@sha256:…`, `name:tag`, `name@sha256:…` or `name=newName`
 * (the forms of `kustomize edit set image`).
 */
export function parseImageOverride(spec: string): ImageOverride {
  const fail = (why: string): never => {
    throw new ConfigurationError(
      `images: '${spec}' is not a valid image override (${why}); use name:tag, name@sha256:<digest> or name=newName:tag`,
    )
  }
  const trimmed = spec.trim()
  const eq = trimmed.indexOf('=')
  const name = eq >= 0 ? trimmed.slice(0, eq) : undefined
  const ref = eq >= 0 ? trimmed.slice(eq + 1) : trimmed
  let image = ref
  let tag: string | undefined
  let digest: string | undefined
  const at = ref.indexOf('@')
  if (at >= 0) {
    image = ref.slice(0, at)
    digest = ref.slice(at + 1)
    if (!DIGEST.test(digest)) fail('the digest must be sha256: and 64 hex digits')
  } else {
    const colon = ref.lastIndexOf(':')
    if (colon > ref.lastIndexOf('/')) {
      image = ref.slice(0, colon)
      tag = ref.slice(colon + 1)
      if (!TAG.test(tag)) fail(`'${tag}' is not a valid tag`)
    }
  }
  if (name !== undefined && !IMAGE_NAME.test(name)) fail(`'${name}' is not an image name`)
  if (!IMAGE_NAME.test(image)) fail(`'${image}' is not an image name`)
  if (name === undefined) {
    if (!tag && !digest) fail('give a tag or a digest')
    return { name: image, ...(tag ? { newTag: tag } : {}), ...(digest ? { digest } : {}) }
  }
  return {
    name,
    ...(image !== name ? { newName: image } : {}),
    ...(tag ? { newTag: tag } : {}),
    ...(digest ? { digest } : {}),
  }
}

/** How long a build may run by default, and how much memory it may hold (a build is seconds, MiBs). */
export const DEFAULT_BUILD_TIMEOUT_MS = 120_000
export const DEFAULT_BUILD_MEMORY_MB = 2048
/** `kustomize version` answers at once; a binary that does not is not a kustomize to use. */
const VERSION_TIMEOUT_MS = 30_000

export interface BuildOptions {
  images?: ImageOverride[]
  namespace?: string
  /** kustomize `labels:` entries the overlay adds. */
  labels?: {
    pairs: Record<string, string>
    includeSelectors?: boolean
    includeTemplates?: boolean
  }[]
  /** kustomize `patches:` entries the overlay adds, each patch inline. */
  patches?: { patch: string; target: { kind: string; name: string } }[]
  flags?: string[]
  /** Kill the build (its process group) after this long; default 120 s. */
  timeoutMs?: number
  /** Kill the build when its resident memory passes this (Linux); default 2048 MiB. */
  memoryLimitMB?: number
  /**
   * Kill the build when its output passes this many bytes (default 256 MiB): the caller would refuse
   * more anyway, and should not have to hold it first.
   */
  maxOutputBytes?: number
  /** Kill the build when this aborts (the agent stopping). */
  signal?: AbortSignal
}

/**
 * Runs kustomize on `dir` and returns its YAML output. With images, a namespace, labels or patches, a
 * temporary overlay (outside the user's tree) names `dir` as its only resource and sets them; it is
 * removed afterwards.
 */
export async function kustomizeBuild(
  k: Kustomize,
  dir: string,
  options: BuildOptions,
  log: Logger,
): Promise<string> {
  const target = resolve(dir)
  if (!existsSync(target) || !statSync(target).isDirectory()) {
    throw new ConfigurationError(`path: ${dir} is not a folder`)
  }
  if (
    !['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((f) =>
      existsSync(join(target, f)),
    )
  ) {
    throw new ConfigurationError(`path: ${dir} has no kustomization.yaml`)
  }
  const images = options.images ?? []
  const labels = options.labels ?? []
  const patches = options.patches ?? []
  let overlay: string | undefined
  let buildDir = target
  if (images.length > 0 || options.namespace || labels.length > 0 || patches.length > 0) {
    overlay = await fs.mkdtemp(join(tmpdir(), 'gitops-overlay-'))
    const kustomization: Record<string, unknown> = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      // kustomize refuses absolute paths here; a relative one reaches any folder on the machine.
      resources: [relative(overlay, target)],
    }
    if (options.namespace) kustomization.namespace = options.namespace
    if (images.length > 0) kustomization.images = images
    if (labels.length > 0) kustomization.labels = labels
    if (patches.length > 0) kustomization.patches = patches
    await fs.writeFile(join(overlay, 'kustomization.yaml'), toYaml(kustomization))
    log.debug(`kustomize overlay ${overlay}:\n${toYaml(kustomization)}`)
    buildDir = overlay
  }
  try {
    const args = [...k.subcommand, buildDir, ...(options.flags ?? [])]
    log.info(`Running ${k.label} on ${dir}`)
    const r = await runBuild(k, args, dir, options)
    if (r.code !== 0) {
      const message = r.stderr.trim().replaceAll(overlay ?? '\0', '<overlay>')
      throw new ConfigurationError(`kustomize failed on ${dir}:\n${message}`)
    }
    return r.stdout
  } finally {
    if (overlay) await fs.rm(overlay, { recursive: true, force: true })
  }
}

/** Runs the build within its limits; passing one is the user's to fix (a ConfigurationError). */
async function runBuild(
  k: Kustomize,
  args: string[],
  dir: string,
  options: BuildOptions,
): Promise<RunResult> {
  try {
    return await runCommand(k.program, args, {
      timeoutMs: options.timeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS,
      memoryLimitMB: options.memoryLimitMB ?? DEFAULT_BUILD_MEMORY_MB,
      maxOutputBytes: options.maxOutputBytes,
      signal: options.signal,
      label: `kustomize build ${dir}`,
      timeoutSetting: 'kustomize-timeout',
      memorySetting: 'kustomize-memory-limit',
    })
  } catch (error) {
    // A stop is not the user's doing: it goes on as it is, for the caller to tell apart.
    if (error instanceof ProcessLimitError && error.reason === 'output') {
      throw new ConfigurationError(
        `${error.message}: more YAML than is read from one build; make the kustomization smaller or split it into several`,
        { cause: error },
      )
    }
    if (error instanceof ProcessLimitError && error.reason !== 'stopped') {
      throw new ConfigurationError(error.message, { cause: error })
    }
    throw error
  }
}
