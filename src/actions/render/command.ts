import { render, type RenderOptions, type RenderResult } from '../../lib/render.js'
import type { Command } from '../command.js'

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
