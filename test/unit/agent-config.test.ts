// The agent's git paths, reporting flags, webhook lines, and the change-of-state rules that decide what is reported.
import { readFileSync } from 'node:fs'
import { parseConfig } from '../../src/agent/config.js'
import type { UnitOutcome } from '../../src/agent/cycle.js'
import { parseWebhooks } from '../../src/lib/notify/index.js'
import { Transitions } from '../../src/agent/report/transitions.js'

const defaults = { namespace: 'gitops-system', workDir: '/tmp/w' }
const parse = (...args: string[]) => {
  const c = parseConfig(
    ['--git-url', 'git@gitlab.example.com:ops/gitops.git', ...args],
    {},
    defaults,
  )
  if (c === 'help') throw new Error('help')
  return c
}

test('--git-path: a list, repeated or comma-separated, cleaned; a path inside another is refused', () => {
  expect(
    parse('--git-path', 'releases/staging/,releases/prod', '--git-path', './infra').gitPaths,
  ).toEqual(['releases/staging', 'releases/prod', 'infra'])
  expect(parse().gitPaths).toEqual([''])
  expect(() => parse('--git-path', 'apps,apps/web')).toThrow(
    '--git-path apps/web is inside --git-path apps: give one or the other',
  )
  expect(() => parse('--git-path', '.,apps')).toThrow(/--git-path apps is inside --git-path \./)
  expect(parse('--git-path', 'apps,apps-web').gitPaths).toEqual(['apps', 'apps-web'])
  expect(() => parse('--git-path', '../outside')).toThrow(/must be a path inside the repository/)
})

test('--request-timeout: 60s by default, a duration longer than 0', () => {
  expect(parse().requestTimeoutMs).toBe(60_000)
  expect(parse('--request-timeout', '1.5s').requestTimeoutMs).toBe(1500)
  expect(() => parse('--request-timeout', '0')).toThrow(/--request-timeout must be longer than 0/)
  expect(() => parse('--request-timeout', 'soon')).toThrow(/is not a duration/)
})

test('--listen: :8080 by default, off with --once unless given, and checked', () => {
  expect(parse().listen).toEqual({ port: 8080, host: undefined })
  expect(parse('--once').listen).toBeUndefined()
  expect(parse('--once', '--listen', '127.0.0.1:9090').listen).toEqual({
    host: '127.0.0.1',
    port: 9090,
  })
  expect(parse('--listen', '[::1]:80').listen).toEqual({ host: '::1', port: 80 })
  expect(parse('--listen', 'off').listen).toBeUndefined()
  expect(() => parse('--listen', '8080')).toThrow(/--listen is not an address/)
  expect(() => parse('--listen', ':70000')).toThrow(/is not an address/)
})

test('--kustomize-timeout and --kustomize-memory-limit: 120s and 256 MiB by default, checked, also from GITOPS_AGENT_*', () => {
  expect(parse().kustomizeTimeoutMs).toBe(120_000)
  expect(parse().kustomizeMemoryLimitMB).toBe(256)
  // A build may use its limit while the agent holds its own memory: both fit the container's limit.
  const deployment = readFileSync('deploy/base/deployment.yaml', 'utf8')
  const containerMiB = Number(/limits:\s+memory: (\d+)Mi/.exec(deployment)?.[1])
  expect(parse().kustomizeMemoryLimitMB).toBeLessThanOrEqual(containerMiB / 2)
  expect(parse('--kustomize-timeout', '3s').kustomizeTimeoutMs).toBe(3000)
  expect(parse('--kustomize-memory-limit', '512').kustomizeMemoryLimitMB).toBe(512)
  const fromEnv = parseConfig(
    ['--git-url', 'x'],
    { GITOPS_AGENT_KUSTOMIZE_TIMEOUT: '2m', GITOPS_AGENT_KUSTOMIZE_MEMORY_LIMIT: '1024' },
    defaults,
  )
  expect(
    fromEnv !== 'help' && [fromEnv.kustomizeTimeoutMs, fromEnv.kustomizeMemoryLimitMB],
  ).toEqual([120_000, 1024])
  expect(() => parse('--kustomize-timeout', '0')).toThrow(
    /--kustomize-timeout must be longer than 0/,
  )
  expect(() => parse('--kustomize-memory-limit', '2GB')).toThrow(
    /--kustomize-memory-limit must be a whole number of MiB/,
  )
})

test('no error of the flag parser echoes a value given (it may be a secret): the flag is named', () => {
  const secret = 'ghp_s3cret/TOKEN value'
  const cases: string[][] = [
    [secret],
    ['--once', secret],
    ['--once=' + secret],
    ['--dry-run=' + secret],
    ['--log-format', secret],
    ['--namespace', secret],
    ['--default-namespace', secret],
    ['--listen', secret],
    ['--cluster-name', secret],
    ['--status-token', 'env:T', '--status-provider', secret],
    ['--git-timeout', secret],
    ['--kustomize-timeout', secret],
    ['--kustomize-memory-limit', secret],
    ['--concurrency', secret],
    [`--${secret}`],
    [`--${secret}=x`],
  ]
  for (const args of cases) {
    let message = ''
    try {
      parse(...args)
    } catch (error) {
      message = (error as Error).message
    }
    expect([args.join(' '), message]).toEqual([args.join(' '), expect.stringMatching(/./)])
    expect(message).not.toContain(secret.slice(4))
  }
})

test('secrets are named by place, never given as values; the status API follows the git host', () => {
  expect(parse('--notify', 'file:/etc/gitops/notify/urls').notify).toEqual({
    file: '/etc/gitops/notify/urls',
  })
  expect(() => parse('--notify', 'https://hooks.slack.com/services/x')).toThrow(
    /--notify takes file:PATH or env:NAME/,
  )
  expect(() => parse('--status-token', 'ghp_abc')).toThrow(/--status-token takes file:PATH/)
  expect(parse('--status-token', 'env:T').statuses).toEqual({
    token: { env: 'T' },
    provider: 'gitlab',
    apiUrl: 'https://gitlab.example.com/api/v4',
  })
  const github = parseConfig(
    ['--git-url', 'git@github.com:acme/gitops.git', '--status-token', 'env:T'],
    {},
    defaults,
  )
  expect(github !== 'help' && github.statuses?.apiUrl).toBe('https://api.github.com')
  expect(parse().statuses).toBeUndefined()
  expect(() => parse('--status-token', 'env:T', '--status-provider', 'bitbucket')).toThrow(
    /must be github or gitlab/,
  )
  expect(() => parse('--cluster-name', 'a b')).toThrow(/--cluster-name/)
})

test('webhook lines: kind by prefix or host, comments skipped, bad lines refused without echoing them', () => {
  expect(
    parseWebhooks(
      [
        '# team chat',
        'https://hooks.slack.com/services/T/B/x',
        'https://acme.webhook.office.com/webhookb2/y',
        'https://prod-1.westeurope.logic.azure.com/workflows/z',
        'teams:https://proxy.internal/teams',
        'https://example.com/hook',
        '',
      ].join('\n'),
    ).map((h) => h.kind),
  ).toEqual(['slack', 'teams', 'teams', 'teams', 'webhook'])
  let message = ''
  try {
    parseWebhooks('https://ok.example.com/a\nnot-a-url-s3cret\n')
  } catch (error) {
    message = (error as Error).message
  }
  expect(message).toMatch(/line 2/)
  expect(message).not.toContain('s3cret')
})

const outcome = (status: UnitOutcome['status'], digest: string): UnitOutcome => ({
  unit: 'releases/staging/shop',
  status,
  commit: 'c'.repeat(40),
  applied: 0,
  pruned: 0,
  objects: 1,
  digest,
  changes: [],
})

test('a change of state is reported once: released, failed (repeated: once), recovered; unchanged says nothing', () => {
  const t = new Transitions()
  const seen = [
    outcome('unchanged', 'a'), // the first cycle after a start: nothing to say
    outcome('synced', 'a'), // a drift re-apply of the same release
    outcome('synced', 'b'),
    outcome('failed', 'c'),
    outcome('failed', 'c'),
    outcome('unchanged', 'c'),
    outcome('failed', 'd'), // another release, failing too
    outcome('synced', 'd'),
    outcome('pruned', 'd:retired'),
    outcome('pruned', 'd:retired'),
  ].map((o) => t.record(o))
  expect(seen).toEqual([
    undefined,
    undefined,
    'released',
    'failed',
    undefined,
    undefined,
    'failed',
    'recovered',
    'pruned',
    undefined,
  ])
  expect(t.peek(outcome('synced', 'e'))).toBe('released')
  expect(t.peek(outcome('synced', 'e'))).toBe('released') // peeking records nothing

  // After a restart: the same release re-applied (its sync interval passed) and a unit long gone from git
  // are no news; a new release is.
  const restarted = new Transitions()
  expect(restarted.record({ ...outcome('synced', 'g'), changed: false })).toBeUndefined()
  expect(
    restarted.record({ ...outcome('orphaned', ''), unit: 'releases/staging/gone' }),
  ).toBeUndefined()
  expect(restarted.record({ ...outcome('synced', 'h'), changed: true })).toBe('released')

  // A rollout that failed its health check recovers without a new release: an unchanged unit, healthy.
  const u = new Transitions()
  const healthy = { ...outcome('unchanged', 'f'), healthy: true }
  expect(
    [outcome('synced', 'f'), outcome('failed', 'f'), healthy, healthy].map((o) => u.record(o)),
  ).toEqual(['released', 'failed', 'recovered', undefined])
})
