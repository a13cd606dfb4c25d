import { ConfigurationError } from '../lib/errors.js'
import type { Inputs } from '../lib/inputs.js'
import { isKubeconfigContent } from '../lib/install/access.js'
import {
  installAgent,
  waitForInstalledAgent,
  type InstallOptions,
  type InstallResult,
} from '../lib/install/install.js'
import type { Command } from './command.js'
import { ciContext } from './ci-env.js'

/** `kubeconfig`: a path as it is, content masked as the secret it is. */
function readKubeconfig(inputs: Inputs): string | undefined {
  const value = inputs.text('kubeconfig')
  return value !== undefined && isKubeconfigContent(value) ? inputs.secret('kubeconfig') : value
}

function timeoutMs(inputs: Inputs): number {
  const seconds = Number(inputs.optional('timeout') ?? '300')
  if (!Number.isSafeInteger(seconds) || seconds < 1)
    throw new ConfigurationError("input 'timeout' must be a whole number of seconds, at least 1")
  return seconds * 1000
}

export const installAgentCommand: Command<InstallOptions, InstallResult> = {
  name: 'install-agent',
  getInputs: (inputs) => {
    const paths = inputs.list('paths')
    return {
      kubeconfig: readKubeconfig(inputs),
      namespace: inputs.optional('namespace'),
      image: inputs.required('image'),
      repository: inputs.required('repository'),
      branch: inputs.optional('branch'),
      paths: paths.length > 0 ? paths : undefined,
      pollInterval: inputs.optional('poll-interval'),
      syncInterval: inputs.optional('sync-interval'),
      prune: inputs.boolean('prune'),
      clusterName: inputs.optional('cluster-name'),
      manifestGeneration: inputs.boolean('manifest-generation'),
      sshKey: inputs.secret('ssh-key'),
      knownHosts: inputs.text('known-hosts'),
      token: inputs.secret('token'),
      gitHost: inputs.choice('git-host', ['github', 'gitlab'] as const),
      apiUrl: inputs.optional('api-url'),
      deployKeyTitle: inputs.optional('deploy-key-title'),
      rotateKey: inputs.boolean('rotate-key'),
      notify: inputs.secret('notify'),
      statusToken: inputs.secret('status-token'),
      outputDir: inputs.optional('output-dir'),
      dryRun: inputs.boolean('dry-run'),
      timeoutMs: inputs.boolean('wait') ? timeoutMs(inputs) : undefined,
      tempDir: ciContext().tempDir,
      mask: (secret) => inputs.mask(secret),
      wait: inputs.boolean('wait') ? waitForInstalledAgent : undefined,
    }
  },
  run: installAgent,
  outputs: (r) => ({
    'public-key': r.publicKey,
    'deploy-key-id': r.deployKeyId === undefined ? '' : String(r.deployKeyId),
    'manifests-dir': r.manifestsDir ?? '',
    'agent-ready': String(r.wait?.ready ?? false),
    'synced-commit': r.wait?.syncedCommit ?? '',
    unchanged: String(r.unchanged),
  }),
  summary: (r) => {
    const c = r.changes
    return [
      `### install-agent: ${r.dryRun ? 'dry run' : r.unchanged ? 'unchanged' : 'installed'}`,
      '',
      `Objects: ${c.created} created, ${c.configured} configured, ${c.unchanged} unchanged, ${c.pruned} pruned.`,
      `Key: \`${r.fingerprint}\` (${r.keyAction})${r.deployKeyId !== undefined ? `, deploy key ${r.deployKeyId}` : ''}.`,
      r.wait
        ? `Agent ${r.wait.agentVersion ?? ''} ready; synced commit \`${r.wait.syncedCommit ?? ''}\`; units: ${r.wait.units.map((u) => `\`${u}\``).join(', ') || 'none'}.`
        : '',
      '',
    ].join('\n')
  },
}
