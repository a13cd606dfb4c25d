import { render, type RenderOptions, type RenderResult } from '../lib/render.js'
import { ConfigurationError } from '../lib/errors.js'
import type { Inputs } from '../lib/inputs.js'
import { DEFAULT_BUILD_MEMORY_MB, DEFAULT_BUILD_TIMEOUT_MS } from '../lib/kustomize/kustomize.js'
import type { Command } from './command.js'

const DEFAULTS: Record<string, number> = {
  'kustomize-timeout': DEFAULT_BUILD_TIMEOUT_MS / 1000,
  'kustomize-memory-limit': DEFAULT_BUILD_MEMORY_MB,
}

/** A number above 0 (the limits: 0 would mean none), its default when the input is empty. */
function positive(inputs: Inputs, name: string, what: string): number {
  const value = inputs.optional(name)
  if (value === undefined) return DEFAULTS[name]
  const n = Number(value)
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0))
    throw new ConfigurationError(`input '${name}' must be ${what} greater than 0`)
  return n
}

export const renderCommand: Command<RenderOptions, RenderResult> = {
  name: 'render',
  getInputs: (inputs) => ({
    path: inputs.required('path'),
    images: inputs.list('images'),
    outputDir: inputs.required('output-dir'),
    outputFile: inputs.optional('output-file'),
    namespace: inputs.optional('namespace'),
    kustomize: inputs.optional('kustomize'),
    kustomizeFlags: inputs.words('kustomize-flags'),
    kustomizeTimeoutMs: positive(inputs, 'kustomize-timeout', 'a number of seconds') * 1000,
    kustomizeMemoryLimitMB: positive(inputs, 'kustomize-memory-limit', 'a number of MiB'),
    allowSecrets: inputs.boolean('allow-secrets'),
  }),
  run: render,
  outputs: (r) => ({
    'manifests-dir': r.manifestsDir,
    'manifests-file': r.manifestsFile,
    objects: String(r.objects),
    digest: r.digest,
    'kustomize-version': r.kustomizeVersion,
  }),
  summary: (r) =>
    [
      `### render: ${r.objects} objects`,
      '',
      `Digest \`${r.digest}\`, kustomize ${r.kustomizeVersion}.`,
      '',
      '| file |',
      '| --- |',
      ...r.files.map((f) => `| \`${f}\` |`),
      '',
    ].join('\n'),
}
