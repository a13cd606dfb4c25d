/** `render`: kustomize an app's kustomization into plain, validated manifests. */
import { resolve } from 'node:path'
import { ConfigurationError } from './errors.js'
import {
  kustomizeBuild,
  kustomizeVersion,
  parseImageOverride,
  resolveKustomize,
} from './kustomize/kustomize.js'
import type { Logger } from './log.js'
import {
  checkReplaceableFile,
  checkReplaceableFolder,
  isInside,
  manifestStream,
  serializeManifests,
  writeFileAtomic,
  writeManifestFolder,
} from './manifests/folder.js'
import { manifestsDigest, validateManifests } from './manifests/objects.js'
import { parseManifestText } from './manifests/yaml.js'

export interface RenderOptions {
  /** The kustomization folder. */
  path: string
  /** Image overrides: `name=newName:tag`, `name:tag`, `name@sha256:…`. */
  images: string[]
  /** The per-object folder to write. */
  outputDir: string
  /** The single-file form; default `<outputDir>.yaml`. */
  outputFile?: string
  namespace?: string
  /** A kustomize or kubectl binary, or `kubectl`; see `resolveKustomize`. */
  kustomize?: string
  kustomizeFlags: string[]
  /** Kill kustomize after this long (default 120 s). */
  kustomizeTimeoutMs?: number
  /** Kill kustomize when it holds more memory than this (default 2048 MiB). */
  kustomizeMemoryLimitMB?: number
  allowSecrets: boolean
}

export interface RenderResult {
  manifestsDir: string
  manifestsFile: string
  objects: number
  digest: string
  kustomizeVersion: string
  /** The per-object files written, by name. */
  files: string[]
}

/** Runs kustomize, validates every object, and writes the folder and single-file forms. */
export async function render(options: RenderOptions, log: Logger): Promise<RenderResult> {
  // Everything the user gave is checked before kustomize runs or anything is written.
  const images = options.images.map(parseImageOverride)
  const outputDir = resolve(options.outputDir)
  const outputFile = resolve(options.outputFile ?? `${outputDir.replace(/\/+$/, '')}.yaml`)
  if (isInside(outputFile, outputDir)) {
    throw new ConfigurationError(
      `output-file ${outputFile} is inside output-dir; it must be beside it`,
    )
  }
  await checkReplaceableFile(outputFile)
  await checkReplaceableFolder(outputDir)
  if (isInside(outputDir, options.path) || isInside(options.path, outputDir)) {
    throw new ConfigurationError(
      `output-dir ${outputDir} overlaps the kustomization at ${options.path}`,
    )
  }

  const kustomize = resolveKustomize(options.kustomize)
  log.info(`Using ${kustomize.label}`)
  // The version query runs beside the build: each is a process start of the same binary.
  const [version, text] = await Promise.all([
    kustomizeVersion(kustomize),
    kustomizeBuild(
      kustomize,
      options.path,
      {
        images,
        namespace: options.namespace,
        flags: options.kustomizeFlags,
        timeoutMs: options.kustomizeTimeoutMs,
        memoryLimitMB: options.kustomizeMemoryLimitMB,
      },
      log,
    ),
  ])
  log.info(`kustomize ${version}`)
  const docs = parseManifestText(text, `kustomize output of ${options.path}`)
  const manifests = validateManifests(docs, { allowSecrets: options.allowSecrets })
  if (manifests.length === 0) {
    throw new ConfigurationError(`kustomize produced no objects from ${options.path}`)
  }
  const objects = manifests.map((m) => m.object)
  const digest = manifestsDigest(objects)

  const serialized = serializeManifests(objects)
  await writeManifestFolder(outputDir, serialized)
  await writeFileAtomic(outputFile, manifestStream(serialized))
  log.info(`Rendered ${objects.length} objects into ${outputDir} and ${outputFile} (${digest})`)
  return {
    manifestsDir: outputDir,
    manifestsFile: outputFile,
    objects: objects.length,
    digest,
    kustomizeVersion: version,
    files: serialized.map((m) => m.file).sort(),
  }
}
