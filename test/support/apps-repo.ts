/**
 * A gitops repo of several apps for the agent's fault tests: what git declares (units of ConfigMaps and a
 * Deployment or two in namespace `apps`), changes to it (objects changed, added and removed, never a
 * removed name again), and how the cluster differs from it.
 */
import { join } from 'node:path'
import { writeFileSync, mkdirSync } from 'node:fs'
import { git, pushFiles, type Remote } from './git.js'
import type { KubeApiServer } from './kube-api/index.js'
import { tempDir } from './tmp.js'

/** The namespace every app object lives in. */
export const APPS_NS = 'apps'

interface Declared {
  kind: 'ConfigMap' | 'Deployment'
  name: string
  file: string
  /** ConfigMap data, or the Deployment's image. */
  data?: Record<string, string>
  image?: string
}

/** How the cluster differs from git: object keys (`Kind/name`). */
export interface ClusterDiff {
  /** Declared and absent. */
  missing: string[]
  /** Present with other content than git says. */
  stale: string[]
  /** Present, labelled by nobody's git: left behind instead of pruned. */
  extra: string[]
}

const configMap = (name: string, value: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${APPS_NS}\ndata:\n  value: "${value}"\n`
const deployment = (name: string, image: string): string =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: ${APPS_NS}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: ${name}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n      containers:\n        - name: app\n          image: ${image}\n`

export class AppsRepo {
  /** What git declares now, by `Kind/name`. */
  readonly declared = new Map<string, Declared>()
  /** Where in the server's request log each removed object left git (requests before it came earlier). */
  readonly removedAt = new Map<string, number>()
  private nextId = 0
  private step = 0

  /**
   * `units` apps under `releases/staging`, each of `perUnit` objects: ConfigMaps, and a Deployment in
   * the first `deployments` units.
   */
  constructor(
    readonly remote: Remote,
    private readonly server: KubeApiServer,
    options: { units: number; perUnit: number; deployments?: number; prefix?: string },
  ) {
    const prefix = options.prefix ?? 'app'
    for (let u = 0; u < options.units; u++) {
      const unit = `${prefix}${u}`
      const deploys = u < (options.deployments ?? 0)
      if (deploys) this.declare(unit, 'Deployment', unit, { image: `acme/${unit}:0` })
      for (let i = deploys ? 1 : 0; i < options.perUnit; i++)
        this.declare(unit, 'ConfigMap', `${unit}-${this.nextId++}`, { data: { value: '0' } })
    }
  }

  /** Pushes everything declared as one commit (on top of the branch, or replacing its history). */
  pushAll(options: { force?: boolean; message?: string } = {}): void {
    if (!options.force) {
      const files = Object.fromEntries([...this.declared.values()].map((d) => [d.file, text(d)]))
      pushFiles(this.remote, files, options.message ?? 'release all apps')
      return
    }
    // A new root commit: the branch's history is rewritten to another tree.
    const dir = join(tempDir('gitops-force-'), 'w')
    git(tempDir(), 'init', '--quiet', '--initial-branch=main', dir)
    for (const d of this.declared.values()) {
      mkdirSync(join(dir, d.file, '..'), { recursive: true })
      writeFileSync(join(dir, d.file), text(d))
    }
    git(dir, 'add', '--all')
    git(dir, 'commit', '--quiet', '-m', options.message ?? 'rewritten history')
    git(dir, 'push', '--quiet', '--force', this.remote.url, 'HEAD:main')
  }

  /**
   * One round of releases, pushed as one commit: in every unit two ConfigMaps change, one is added,
   * the oldest is removed (while the unit keeps a few), and a Deployment's image moves on.
   */
  release(): void {
    const step = ++this.step
    const files: Record<string, string | null> = {}
    const removed: string[] = []
    for (const unit of this.units()) {
      const maps = [...this.declared.entries()].filter(
        ([, d]) => d.kind === 'ConfigMap' && d.file.includes(`/${unit}/`),
      )
      for (const [, d] of maps.slice(-2)) d.data = { value: String(step) }
      for (const [, d] of maps.slice(-2)) files[d.file] = text(d)
      const added = this.declare(unit, 'ConfigMap', `${unit}-${this.nextId++}`, {
        data: { value: String(step) },
      })
      files[added.file] = text(added)
      if (maps.length > 4) {
        const [key, d] = maps[0]
        this.declared.delete(key)
        files[d.file] = null
        removed.push(key)
      }
      const deploy = this.declared.get(`Deployment/${unit}`)
      if (deploy) {
        deploy.image = `acme/${unit}:${step}`
        files[deploy.file] = text(deploy)
      }
    }
    pushFiles(this.remote, files, `release round ${step}`)
    this.markRemoved(removed)
  }

  /** Removes objects of a unit from git (the last `count` declared, or all). */
  remove(unit: string, count = Infinity): void {
    const keys = [...this.declared.entries()]
      .filter(([, d]) => d.file.includes(`/${unit}/`))
      .slice(-count)
      .map(([k]) => k)
    const files: Record<string, null> = {}
    for (const key of keys) {
      files[this.declared.get(key)!.file] = null
      this.declared.delete(key)
    }
    pushFiles(this.remote, files, `remove ${keys.length} objects of ${unit}`)
    this.markRemoved(keys)
  }

  /** Changes every ConfigMap of a unit to `value` (one commit). */
  change(unit: string, value: string): void {
    const files: Record<string, string> = {}
    for (const d of this.declared.values())
      if (d.kind === 'ConfigMap' && d.file.includes(`/${unit}/`)) {
        d.data = { value }
        files[d.file] = text(d)
      }
    pushFiles(this.remote, files, `change ${unit} to ${value}`)
  }

  /**
   * Replaces what git declares with another tree (for a rewritten history): the first half of every
   * unit kept with new values, the rest dropped, a new object added per unit. Push it with `pushAll`.
   */
  rewrite(value: string): void {
    const removed: string[] = []
    for (const unit of this.units()) {
      const maps = [...this.declared.entries()].filter(
        ([, d]) => d.kind === 'ConfigMap' && d.file.includes(`/${unit}/`),
      )
      maps.forEach(([key, d], i) => {
        if (i < maps.length / 2) d.data = { value }
        else {
          this.declared.delete(key)
          removed.push(key)
        }
      })
      this.declare(unit, 'ConfigMap', `${unit}-${this.nextId++}`, { data: { value } })
    }
    this.pendingRemoved = removed
  }

  /** Marks what `rewrite` dropped as gone from git, once its push is done. */
  rewritten(): void {
    this.markRemoved(this.pendingRemoved)
    this.pendingRemoved = []
  }

  private pendingRemoved: string[] = []

  /** How the objects in namespace `apps` differ from git. */
  diff(): ClusterDiff {
    const live = new Map<string, { data?: unknown; image?: unknown }>()
    for (const o of this.server.objects.list('v1', 'ConfigMap', APPS_NS))
      live.set(`ConfigMap/${o.metadata!.name}`, { data: o.data })
    for (const o of this.server.objects.list('apps/v1', 'Deployment', APPS_NS)) {
      const spec = o.spec as { template: { spec: { containers: { image: string }[] } } }
      live.set(`Deployment/${o.metadata!.name}`, { image: spec.template.spec.containers[0]?.image })
    }
    const result: ClusterDiff = { missing: [], stale: [], extra: [] }
    for (const [key, d] of this.declared) {
      const found = live.get(key)
      if (!found) result.missing.push(key)
      else if (
        d.kind === 'ConfigMap'
          ? JSON.stringify(found.data) !== JSON.stringify(d.data)
          : found.image !== d.image
      )
        result.stale.push(key)
    }
    for (const key of live.keys()) if (!this.declared.has(key)) result.extra.push(key)
    return result
  }

  /**
   * Objects the agent asked to delete while git still declared them (or never did): every DELETE of an
   * app object in the request log that came before the object left git.
   */
  wronglyDeleted(): string[] {
    const wrong: string[] = []
    this.server.requests.all().forEach((r, i) => {
      if (r.method !== 'DELETE' || /dryRun/.test(r.query)) return
      const m = new RegExp(`/namespaces/${APPS_NS}/(configmaps|deployments)/([^/]+)$`).exec(r.path)
      if (!m) return
      const key = `${m[1] === 'configmaps' ? 'ConfigMap' : 'Deployment'}/${decodeURIComponent(m[2])}`
      const removedAt = this.removedAt.get(key)
      if (removedAt === undefined || i < removedAt) wrong.push(key)
    })
    return wrong
  }

  /** Writes (anything but GET) to app objects from request `from` of the log on. */
  appWritesSince(from: number): number {
    return this.server.requests
      .all()
      .slice(from)
      .filter((r) => r.method !== 'GET' && r.path.includes(`/namespaces/${APPS_NS}/`)).length
  }

  private units(): string[] {
    const units = new Set<string>()
    for (const d of this.declared.values()) units.add(d.file.split('/')[2])
    return [...units].sort()
  }

  private markRemoved(keys: string[]): void {
    const at = this.server.requests.all().length
    for (const key of keys) this.removedAt.set(key, at)
  }

  private declare(
    unit: string,
    kind: Declared['kind'],
    name: string,
    content: { data?: Record<string, string>; image?: string },
  ): Declared {
    const d: Declared = {
      kind,
      name,
      file: `releases/staging/${unit}/${kind.toLowerCase()}-${name}.yaml`,
      ...content,
    }
    this.declared.set(`${kind}/${name}`, d)
    return d
  }
}

function text(d: Declared): string {
  return d.kind === 'ConfigMap' ? configMap(d.name, d.data!.value) : deployment(d.name, d.image!)
}
