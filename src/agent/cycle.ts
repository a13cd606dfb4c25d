/**
 * The agent's cycle, every step in one place:
 *   1. ask the remote for the branch head; fetch only when it moved (or nothing is checked out yet);
 *   2. load the units under the git paths, and find objects two units declare differently;
 *   3. apply each unit on its own (skipped while unchanged, until a full re-apply is due);
 *   4. prune what a unit dropped (opt-in), and retired units on purpose; vanished units are orphaned;
 *   5. record each unit's inventory;
 *   6. wait for what was rolled out to be healthy.
 * A unit that fails keeps its last applied state; the others go on. The git host or the API server
 * being down changes nothing in the cluster.
 */
import { existsSync, promises as fs } from 'node:fs'
import { join, resolve } from 'node:path'
import { Limiter, mapLimit } from '../lib/concurrency.js'
import { ConfigurationError, errorMessage } from '../lib/errors.js'
import { GitClient, type GitAuth, type TreeEntry } from '../lib/git/git.js'
import { redactUrl } from '../lib/git/remote.js'
import type { Logger } from '../lib/log.js'
import { ProcessLimitError } from '../lib/process/run.js'
import {
  applyObjects,
  crdScopes,
  groupKind,
  pruneObjects,
  stages,
  type ChangeEntry,
} from '../lib/kube/apply.js'
import type { KubeClient } from '../lib/kube/client.js'
import { needsWait, waitHealthy } from '../lib/kube/health.js'
import {
  listInventories,
  writeInventory,
  type Inventory,
  type InventoryEntry,
} from '../lib/kube/inventory.js'
import { AGENT_LABEL, DOMAIN, UNIT_ANNOTATION, UNIT_LABEL, unitHash } from '../lib/kube/labels.js'
import { AGENT_LEASE } from '../lib/kube/lease.js'
import { describeRef, objectKey, refKey, refOf, type ObjectRef } from '../lib/manifests/identity.js'
import { canonicalJson, objectDigest } from '../lib/manifests/objects.js'
import type { KubeObject } from '../lib/manifests/yaml.js'
import type { AgentConfig } from './config.js'
import { loadUnits, type RepoFiles, type Unit } from './units.js'

export type UnitStatus = 'synced' | 'unchanged' | 'failed' | 'pruned' | 'orphaned'

export interface UnitOutcome {
  unit: string
  status: UnitStatus
  commit: string
  applied: number
  pruned: number
  /** Objects the unit declares. */
  objects: number
  /** The unit's content digest (the same content gives the same digest). */
  digest?: string
  /** Its content differs from what was last applied (false: a re-apply of the same release). */
  changed?: boolean
  /** The plan, per object (dry-run and logs). */
  changes: ChangeEntry[]
  healthy?: boolean
  error?: string
  release?: Unit['release']
}

export interface CycleResult {
  /** Milliseconds spent on git, on loading units, on applying and pruning, on waiting for health. */
  phases?: { gitMs: number; loadMs: number; applyMs: number; healthMs: number }
  commit?: string
  /** The remote could not be reached: nothing was done. */
  gitError?: string
  /** The API server could not be read: nothing was done (every unit says so, none is to blame). */
  apiError?: string
  units: UnitOutcome[]
}

interface UnitState {
  failures: number
  retryAt: number
  /** The content that failed: a new commit of the unit is tried at once. */
  digest: string
}

/** Units applied at the same time (their requests share `--concurrency`). */
const UNITS_AT_ONCE = 4

/** What marks the agent's inventories (ConfigMaps in its namespace), refused in git. */
const INVENTORY_LABEL = `${DOMAIN}/inventory`
const INVENTORY_PREFIX = 'gitops-unit-'

/** `Kind/namespace/name`, as inventories and prune candidates are compared. */

export class Agent {
  private git?: GitClient
  /** The branch and commit checked out, while `git` is open. */
  private checkout?: { branch: string; head: string }
  /**
   * The inventories as read at the start of a sync interval and kept up to date by this agent's own
   * writes: while it holds the lease nobody else writes them, so a quiet poll need not list them all.
   */
  private inventories?: { byUnit: Map<string, Inventory>; readAt: number }
  /** Why the lease was lost during this cycle (set by the renewal, cleared as a cycle starts). */
  private leaseLost?: string
  /** What is under the git paths at the last commit read, and whether its files are on disk. */
  private listing?: { commit: string; entries: TreeEntry[]; checkedOut: boolean }
  private readonly retries = new Map<string, UnitState>()
  private readonly unitCache = new Map<string, { hash: string; unit: Unit }>()
  /** Why nothing may be pruned in this cycle (a unit failed to load: it may still declare what others dropped). */
  private pruneHeld?: string
  /** Kinds the CRDs in git define (`group/Kind` → namespaced), for this cycle. */
  private crdKinds = new Map<string, boolean>()
  /** One budget of API requests in flight (`--concurrency`), shared by the units applied together. */
  private readonly limiter: Limiter

  constructor(
    private readonly config: AgentConfig,
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly auth: GitAuth,
    /** The value of the agent label on everything it applies. */
    private readonly agentName: string,
    /** Called when a unit's content was applied, before its health is awaited. */
    private readonly onApplied?: (outcome: UnitOutcome) => Promise<void>,
  ) {
    this.limiter = new Limiter(config.concurrency)
  }

  /** Step 1: the checkout at the remote's head. */
  private async refresh(): Promise<string> {
    const dir = join(this.config.workDir, 'repo')
    const options = {
      url: this.config.gitUrl,
      dir,
      auth: this.auth,
      timeoutMs: this.config.gitTimeoutMs,
    }
    // A checkout left by an earlier run (a restart, or --once again) is brought up to date, not cloned.
    if (!this.git) {
      const opened = await GitClient.open(options, this.log)
      // A clone of another branch (the flag changed) is not this one's.
      if (opened && this.config.gitBranch && (await opened.branch()) !== this.config.gitBranch)
        await opened.dispose()
      else this.git = opened
    }
    if (!this.git) {
      // A new clone: nothing known of the old one holds (its files on disk above all).
      this.listing = undefined
      await fs.rm(dir, { recursive: true, force: true })
      // The new clone's index knows nothing of the files an old one wrote there.
      await fs.rm(join(this.config.workDir, 'tree'), { recursive: true, force: true })
      await fs.mkdir(this.config.workDir, { recursive: true })
      // No work tree: units are read from git's objects (writing thousands of files only to read them
      // back cost more than the whole fetch).
      this.git = await GitClient.clone(
        { ...options, branch: this.config.gitBranch, depth: 1, checkout: false },
        this.log,
      )
      const head = await this.git.head()
      this.checkout = { branch: this.config.gitBranch ?? (await this.git.branch()), head }
      this.log.info(`event=refreshed url=${redactUrl(this.config.gitUrl)} HEAD=${head}`)
      return head
    }
    // What is checked out is remembered between cycles: a quiet poll is one `git ls-remote`.
    this.checkout ??= {
      branch: this.config.gitBranch ?? (await this.git.branch()),
      head: await this.git.head(),
    }
    const { branch } = this.checkout
    const remote = await this.git.remoteBranchCommit(branch)
    if (!remote) throw new Error(`branch ${branch} is gone from ${redactUrl(this.config.gitUrl)}`)
    if (remote === this.checkout.head) return remote
    try {
      const previous = this.checkout.head
      const head = await this.git.fetchHead(branch)
      this.checkout = { branch, head }
      this.log.info(`event=refreshed url=${redactUrl(this.config.gitUrl)} HEAD=${head}`)
      // A fetch follows a force-push silently: say so, since what only the old history held is about
      // to leave the cluster.
      if (!(await this.git.isAncestor(previous, head))) {
        this.log.warn(
          `event=history-rewritten url=${redactUrl(this.config.gitUrl)} branch=${branch} from=${previous} to=${head}: ` +
            `the branch was force-pushed; what it holds now is applied as the truth`,
        )
      }
      return head
    } catch (error) {
      // The remote answered but the clone could not follow it: clone afresh next time.
      await this.git.dispose()
      this.git = undefined
      this.checkout = undefined
      await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined)
      throw error
    }
  }

  /** From now until the next cycle, nothing is pruned (e.g. another agent took the lease). */
  holdPruning(reason: string): void {
    this.leaseLost = reason
    this.pruneHeld = reason
    this.inventories = undefined
    this.log.warn(`event=prune-held: ${reason}`)
  }

  /**
   * The inventories are read again next cycle: another agent may have held the lease, and written
   * them, since this one last did.
   */
  forgetInventories(): void {
    this.inventories = undefined
  }

  /** Writes a unit's inventory and keeps what was written; a failed write makes the next cycle read all. */
  private async recordInventory(inventory: Inventory): Promise<void> {
    try {
      const written = await writeInventory(
        this.client,
        this.config.namespace,
        this.agentName,
        inventory,
      )
      this.inventories?.byUnit.set(inventory.unit, written)
    } catch (error) {
      this.inventories = undefined
      throw error
    }
  }

  /** The files under the git paths at `commit`, listed once per commit (`git ls-tree`). */
  private async repoFiles(commit: string): Promise<RepoFiles> {
    const git = this.git
    if (!git) throw new Error('no clone to read')
    if (this.listing?.commit !== commit) {
      const entries: TreeEntry[] = []
      for (const gitPath of this.config.gitPaths)
        entries.push(...(await git.listTree(commit, gitPath)))
      this.listing = { commit, entries, checkedOut: false }
    }
    const listing = this.listing
    return {
      entries: listing.entries,
      read: (blobs) => git.readBlobs(blobs),
      checkout: async () => {
        // Beside the clone, not in it: kustomize's root must hold no `.git` (its config, its objects)
        // that a kustomization in git could copy into the cluster.
        const tree = resolve(this.config.workDir, 'tree')
        if (!listing.checkedOut) await git.checkout(commit, tree)
        listing.checkedOut = true
        return tree
      },
    }
  }

  /** One cycle. `full` re-applies every unit, changed or not. */
  async cycle(options: { full?: boolean } = {}): Promise<CycleResult> {
    const started = Date.now()
    // The caller holds the lease as the cycle starts.
    this.leaseLost = undefined
    let commit: string
    try {
      commit = await this.refresh()
    } catch (error) {
      const message = errorMessage(error)
      this.log.error(
        `event=git-error url=${redactUrl(this.config.gitUrl)}: ${message}; nothing is changed in the cluster`,
      )
      return { gitError: message, units: [] }
    }

    // Step 2: units, and objects declared by two units. What was applied before is asked of the API
    // server meanwhile (read-only in dry-run).
    const gitDone = Date.now()
    const known =
      !this.config.dryRun &&
      !options.full &&
      this.inventories &&
      Date.now() - this.inventories.readAt < this.config.syncIntervalMs
        ? this.inventories.byUnit
        : undefined
    const listing = known
      ? Promise.resolve(known)
      : listInventories(this.client, this.config.namespace, this.agentName)
    // Awaited below, after loading; a git error first must not leave it rejected unheard.
    listing.catch(() => undefined)
    let loaded: Unit[]
    try {
      loaded = await loadUnits(
        await this.repoFiles(commit),
        this.config.gitPaths,
        {
          manifestGeneration: this.config.manifestGeneration,
          cache: this.unitCache,
          kustomize: {
            timeoutMs: this.config.kustomizeTimeoutMs,
            memoryLimitMB: this.config.kustomizeMemoryLimitMB,
          },
        },
        this.log,
      )
    } catch (error) {
      const message = errorMessage(error)
      this.listing = undefined
      // A build killed because the agent is stopping is no error of git's.
      const stopping = error instanceof ProcessLimitError && error.reason === 'stopped'
      this.log[stopping ? 'info' : 'error'](
        `event=${stopping ? 'stopping' : 'git-error'}: ${message}; nothing is changed in the cluster`,
      )
      return { gitError: message, units: [] }
    }
    // A cycle marks its own copies (with a conflict, say), never the cached units.
    const units = loaded.map((u) => ({ ...u }))
    const owners = new Map<string, { unit: Unit; object: KubeObject }[]>()
    for (const unit of units.filter((u) => !u.error)) {
      for (const { object } of unit.objects) {
        const key = objectKey(object)
        const list = owners.get(key)
        if (list) list.push({ unit, object })
        else owners.set(key, [{ unit, object }])
      }
    }
    for (const [key, list] of owners) {
      if (list.length > 1 && new Set(list.map((o) => canonicalJson(o.object))).size > 1) {
        for (const { unit } of list) {
          unit.error ??= `${key.replace(/\/\//, '/')} is declared differently by ${list.map((o) => o.unit.path).join(' and ')}`
        }
      }
    }
    this.crdKinds = crdScopes(units.flatMap((u) => u.objects.map((m) => m.object)))
    // An object one unit dropped may be declared by a unit that failed to load: no pruning this cycle.
    const broken = units.find((u) => u.error)
    this.pruneHeld = broken ? `unit ${broken.path} failed to load` : this.leaseLost
    // Identical declarations are applied once, by the first unit that has them.
    const appliedBy = new Map<string, string>()
    for (const [key, list] of owners) appliedBy.set(key, list[0].unit.path)

    let inventories: Map<string, Inventory>
    try {
      inventories = await listing
      // A dry run holds no lease: someone else may be writing them.
      if (!known && !this.config.dryRun && !this.leaseLost)
        this.inventories = { byUnit: inventories, readAt: Date.now() }
    } catch (error) {
      const message = errorMessage(error)
      this.log.error(`event=api-error: ${message}; nothing is changed in the cluster`)
      return {
        commit,
        apiError: message,
        units: units.map((u) => this.outcome(u, 'failed', commit, { error: message })),
      }
    }

    const loadDone = Date.now()
    const outcomes: UnitOutcome[] = []
    const healthRefs = new Map<string, ObjectRef[]>()
    // Units that bring Namespaces or CRDs go first: other units' objects may live in them.
    const provides = (u: Unit) =>
      u.objects.some(
        (m) => m.object.kind === 'Namespace' || m.object.kind === 'CustomResourceDefinition',
      )
    const ordered = [...units.filter(provides), ...units.filter((u) => !provides(u))]
    // An object a unit dropped while another unit still declares it is now that unit's to apply (and
    // label): that unit is applied in this cycle even if its own content did not change.
    const inherits = new Set<string>()
    for (const unit of units) {
      const declaredHere = new Set(unit.objects.map((m) => objectKey(m.object)))
      for (const e of inventories.get(unit.path)?.objects ?? []) {
        const heir = [refKey(e), `${e.kind}//${e.name}`]
          .map((k) => appliedBy.get(k))
          .find((u) => u !== undefined && u !== unit.path)
        if (heir && ![refKey(e), `${e.kind}//${e.name}`].some((k) => declaredHere.has(k))) {
          inherits.add(heir)
        }
      }
    }
    const kindAndName = new Set([...owners.keys()].map((k) => k.replace(/\/[^/]*\//, '/')))
    // A few units at a time, sharing one request budget: no unit waits for another's slowest object.
    const sync = async (unit: Unit): Promise<UnitOutcome> => {
      const outcome = await this.syncUnit(
        unit,
        commit,
        inventories.get(unit.path),
        appliedBy,
        owners,
        kindAndName,
        options.full === true || inherits.has(unit.path),
      )
      if (outcome.status === 'synced' && !this.config.dryRun) await this.onApplied?.(outcome)
      if (outcome.status === 'synced')
        healthRefs.set(
          unit.path,
          outcome.changes.filter((c) => c.action === 'applied').map((c) => c.ref),
        )
      return outcome
    }
    // Units bringing Namespaces or CRDs go one by one: a shared one is applied by the first that declares it.
    const first = ordered.filter(provides)
    outcomes.push(...(await mapLimit(first, 1, sync)))
    outcomes.push(...(await mapLimit(ordered.slice(first.length), UNITS_AT_ONCE, sync)))

    // Step 4 (vanished units): their objects stay; a warning says so.
    const present = new Set(units.map((u) => u.path))
    for (const [path, inv] of inventories) {
      const underOurPaths = this.config.gitPaths.some(
        (p) => p === '' || path === p || path.startsWith(`${p}/`),
      )
      if (!present.has(path) && underOurPaths) {
        this.log.warn(
          `event=orphaned unit=${path}: the unit is gone from git; its ${inv.objects.length} objects are left in place (retire an app to remove it)`,
        )
        outcomes.push({
          unit: path,
          status: 'orphaned',
          commit,
          applied: 0,
          pruned: 0,
          objects: inv.objects.length,
          changes: [],
        })
      }
    }

    const applyDone = Date.now()
    // Step 6: health of what was rolled out, and of what earlier cycles rolled out.
    if (!this.config.dryRun) {
      const unitOf = new Map(units.map((u) => [u.path, u]))
      // Every unit's workloads at once: one slow rollout does not hold back the others' checks.
      await Promise.all(
        outcomes.map(async (outcome) => {
          try {
            await this.checkHealth(outcome, healthRefs.get(outcome.unit), unitOf.get(outcome.unit))
          } catch (error) {
            // The API server failing mid-check: the unit's health is unknown, never the agent's end.
            if (outcome.status === 'synced') {
              outcome.status = 'failed'
              outcome.error = `health unknown: ${errorMessage(error)}`
            } else {
              this.log.warn(`event=health-unknown unit=${outcome.unit}: ${errorMessage(error)}`)
            }
          }
        }),
      )
    }
    for (const o of outcomes) this.report(o)
    const phases = {
      gitMs: gitDone - started,
      loadMs: loadDone - gitDone,
      applyMs: applyDone - loadDone,
      healthMs: Date.now() - applyDone,
    }
    return { commit, units: outcomes, phases }
  }

  private outcome(
    unit: Unit,
    status: UnitStatus,
    commit: string,
    extra: Partial<UnitOutcome> = {},
  ): UnitOutcome {
    return {
      unit: unit.path,
      status,
      commit,
      applied: 0,
      pruned: 0,
      objects: unit.objects.length,
      digest: unit.digest,
      changes: [],
      release: unit.release,
      ...extra,
    }
  }

  private report(o: UnitOutcome): void {
    const version = o.release?.version ? ` version=${o.release.version}` : ''
    const line = `event=sync unit=${o.unit} status=${o.status} commit=${o.commit.slice(0, 12)}${version} applied=${o.applied} pruned=${o.pruned}`
    if (o.status === 'failed') this.log.error(`${line} error=${JSON.stringify(o.error)}`)
    // A running agent says nothing of units that did not change; one run (--once) tells every unit.
    else if (o.status === 'unchanged' && !this.config.once) this.log.debug(line)
    else if (o.status !== 'orphaned') this.log.info(line)
    if (this.config.dryRun) {
      for (const c of o.changes)
        this.log.info(
          `plan unit=${o.unit} ${c.action === 'deleted' ? 'prune' : c.action === 'created' ? 'create' : c.action === 'configured' ? 'configure' : c.action} ${describeRef(c.ref)}`,
        )
    }
  }

  private async syncUnit(
    unit: Unit,
    commit: string,
    inventory: Inventory | undefined,
    appliedBy: Map<string, string>,
    owners: Map<string, { unit: Unit; object: KubeObject }[]>,
    /** `Kind/name` of every object declared now, whatever its namespace. */
    kindAndName: Set<string>,
    full: boolean,
  ): Promise<UnitOutcome> {
    if (unit.error) {
      this.retries.set(unit.path, this.nextRetry(unit))
      return this.outcome(unit, 'failed', commit, { error: unit.error })
    }
    // A unit that had objects and now declares none is far likelier broken (emptied files, a build that
    // gave nothing) than meant: its objects are removed only when its release says it is retired.
    const had = inventory?.objects.length ?? 0
    if (unit.objects.length === 0 && !unit.retired && had > 0) {
      this.retries.set(unit.path, this.nextRetry(unit))
      return this.outcome(unit, 'failed', commit, {
        error: `${unit.path} holds no objects now; its ${had} objects are kept and nothing is pruned. To remove an app on purpose, publish its release with retire: true`,
      })
    }
    const now = Date.now()
    const due =
      !inventory ||
      full ||
      this.config.dryRun ||
      now - Date.parse(inventory.lastApplied || '0') >= this.config.syncIntervalMs
    // Objects left in the inventory (kept while pruning was off) are pruned as soon as it is on.
    const leftovers = inventory !== undefined && inventory.objects.length > unit.objects.length
    const pruneWanted = unit.retired || this.config.gc || this.config.gcDry
    const upToDate = inventory !== undefined && inventory.digest === unit.digest && !due
    if (upToDate && !(leftovers && pruneWanted)) return this.outcome(unit, 'unchanged', commit)
    // An unchanged unit with leftovers is not applied again, only pruned.
    const applyWanted = !upToDate
    const retry = this.retries.get(unit.path)
    if (retry && retry.digest === unit.digest && now < retry.retryAt && !full) {
      return this.outcome(unit, 'failed', commit, {
        error: `retrying after ${new Date(retry.retryAt).toISOString()}`,
      })
    }

    // Step 3: apply. Objects get the default namespace, and the agent's and unit's labels.
    const hash = unitHash(unit.path)
    const resolved: { object: KubeObject; namespaced: boolean; ours: boolean }[] = []
    try {
      for (const { object } of unit.retired ? [] : unit.objects) {
        const namespaced =
          this.crdKinds.get(groupKind(object.apiVersion, object.kind)) ??
          (await this.client.isNamespaced(object.apiVersion, object.kind))
        const metadata = { ...object.metadata }
        if (namespaced && !metadata.namespace) metadata.namespace = this.config.defaultNamespace
        if (!namespaced) delete metadata.namespace
        this.refuseOwnState(object, metadata, hash)
        metadata.labels = {
          ...(metadata.labels as Record<string, string> | undefined),
          [AGENT_LABEL]: this.agentName,
          [UNIT_LABEL]: hash,
        }
        metadata.annotations = {
          ...(metadata.annotations as Record<string, string> | undefined),
          [UNIT_ANNOTATION]: unit.path,
        }
        resolved.push({
          object: { ...object, metadata },
          namespaced,
          ours: appliedBy.get(objectKey(object)) === unit.path,
        })
      }
    } catch (error) {
      this.retries.set(unit.path, this.nextRetry(unit))
      return this.outcome(unit, 'failed', commit, { error: errorMessage(error) })
    }
    const prepared = resolved.filter((r) => r.ours)
    this.warnOwnedFields(
      unit,
      prepared.map((p) => p.object),
    )
    const changes = applyWanted
      ? await applyObjects(this.client, stages(prepared), {
          limiter: this.limiter,
          newKinds: this.crdKinds,
          dryRun: this.config.dryRun,
        })
      : []
    const failures = changes.filter((c) => c.action === 'failed')
    if (failures.length > 0) {
      this.retries.set(unit.path, this.nextRetry(unit))
      // What did apply is recorded (so it can be pruned later), and the empty digest makes the next
      // cycle apply the unit again, whatever git then says.
      if (!this.config.dryRun && changes.some((c) => c.action === 'applied')) {
        const applied = new Set(
          changes.filter((c) => c.action === 'applied').map((c) => refKey(c.ref)),
        )
        const objects = [
          ...(inventory?.objects ?? []).filter((e) => !applied.has(refKey(e))),
          ...resolved
            .filter(({ object }) => applied.has(refKey(refOf(object))))
            .map(({ object }) => ({ ...refOf(object), digest: objectDigest(object) })),
        ]
        await this.recordInventory({
          unit: unit.path,
          commit,
          digest: '',
          lastApplied: inventory?.lastApplied ?? '',
          objects,
          resourceVersion: inventory?.resourceVersion,
        }).catch((error: unknown) =>
          this.log.warn(`event=inventory-error unit=${unit.path}: ${errorMessage(error)}`),
        )
      }
      return this.outcome(unit, 'failed', commit, {
        changes,
        applied: changes.length - failures.length,
        error: summarize(failures.map((f) => f.error ?? 'failed')),
      })
    }

    // Step 4: prune what the unit had and nobody declares now (only after it applied cleanly).
    // Declared by any unit now: as written in git, where a namespaced object may name no namespace and a
    // cluster-scoped one may name one.
    const declared = (e: ObjectRef): boolean =>
      owners.has(refKey(e)) ||
      (e.namespace === this.config.defaultNamespace && owners.has(`${e.kind}//${e.name}`)) ||
      (e.namespace === undefined && kindAndName.has(`${e.kind}/${e.name}`))
    // The inventory holds every object the unit declares, the ones another unit applies for it too.
    const current: InventoryEntry[] = resolved.map(({ object }) => ({
      ...refOf(object),
      digest: objectDigest(object),
    }))
    const mine = new Set(current.map(refKey))
    const gone = (inventory?.objects ?? []).filter((e) => !mine.has(refKey(e)) && !declared(e))
    let pruneEntries: ChangeEntry[] = []
    const dry = this.config.dryRun || (this.config.gcDry && !unit.retired)
    if (gone.length > 0 && pruneWanted && this.pruneHeld) {
      this.log.warn(
        `event=prune-held unit=${unit.path}: ${gone.length} objects wait to be pruned (${this.pruneHeld})`,
      )
    } else if (gone.length > 0 && pruneWanted) {
      pruneEntries = await pruneObjects(
        this.client,
        gone,
        { agent: this.agentName, unit: hash },
        {
          dryRun: dry,
          limiter: this.limiter,
          // Its lease and inventories live there: git may declare it, never have it deleted.
          protect: (ref) =>
            ref.kind === 'Namespace' && ref.name === this.config.namespace
              ? "the agent's own namespace is never pruned"
              : undefined,
        },
      )
      for (const p of pruneEntries) {
        if (p.action === 'deleted')
          this.log.info(
            `event=${dry ? 'would-prune' : 'pruned'} unit=${unit.path} ${describeRef(p.ref)}`,
          )
        else if (p.action === 'skipped')
          this.log.info(`event=prune-skipped unit=${unit.path} ${describeRef(p.ref)}: ${p.error}`)
        else
          this.log.error(`event=prune-failed unit=${unit.path} ${describeRef(p.ref)}: ${p.error}`)
      }
    } else if (gone.length > 0) {
      this.log.info(
        `event=prune-off unit=${unit.path}: ${gone.length} objects left in git's past are kept (--sync-garbage-collection is off)`,
      )
    }
    const pruned = dry ? 0 : pruneEntries.filter((p) => p.action === 'deleted').length
    // The inventory keeps what is still to be pruned: everything while pruning is off or dry, and what
    // failed to delete. What was skipped on purpose is no longer this unit's.
    const settled = new Set(
      pruneEntries
        .filter((p) => (p.action === 'deleted' && !dry) || p.action === 'skipped')
        .map((p) => refKey(p.ref)),
    )
    const unpruned = gone.filter((g) => !settled.has(refKey(g)))

    // Step 5: the inventory.
    if (!this.config.dryRun) {
      try {
        await this.recordInventory({
          unit: unit.path,
          commit,
          digest: unit.digest,
          lastApplied: applyWanted ? new Date().toISOString() : inventory.lastApplied,
          objects: [...current, ...unpruned],
          resourceVersion: inventory?.resourceVersion,
        })
      } catch (error) {
        this.retries.set(unit.path, this.nextRetry(unit))
        return this.outcome(unit, 'failed', commit, {
          changes,
          applied: changes.length,
          pruned,
          error: `recording the inventory: ${errorMessage(error)}`,
        })
      }
    }
    this.retries.delete(unit.path)
    const status: UnitStatus = unit.retired
      ? 'pruned'
      : applyWanted || pruned > 0
        ? 'synced'
        : 'unchanged'
    return this.outcome(unit, status, commit, {
      changed: inventory?.digest !== unit.digest,
      changes: [...changes, ...pruneEntries],
      applied: changes.length,
      pruned,
    })
  }

  /**
   * Git never writes the agent's own state: its Lease (an object in git holding it would lock the agent
   * out), its inventories (replacing one rewrites what the agent believes it applied), or the labels
   * that mark them and what it owns. Checked once the default namespace is filled in.
   */
  private refuseOwnState(object: KubeObject, metadata: KubeObject['metadata'], hash: string): void {
    const where = metadata.namespace ? `${metadata.namespace}/` : ''
    const what = `${object.kind} ${where}${metadata.name}`
    const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : ''
    const own = metadata.namespace === this.config.namespace
    const fix = "remove it from git (the agent's own state is never taken from git)"
    if (
      own &&
      object.kind === 'Lease' &&
      group === 'coordination.k8s.io' &&
      metadata.name === AGENT_LEASE
    )
      throw new ConfigurationError(`${what} is the agent's own lease: ${fix}`)
    if (
      own &&
      object.kind === 'ConfigMap' &&
      group === '' &&
      metadata.name.startsWith(INVENTORY_PREFIX)
    )
      throw new ConfigurationError(
        `${what} is named as the agent's inventories are (${INVENTORY_PREFIX}*) in its namespace: ${fix}`,
      )
    const labels = (metadata.labels ?? {}) as Record<string, string>
    if (INVENTORY_LABEL in labels)
      throw new ConfigurationError(
        `${what} carries the label ${INVENTORY_LABEL}, which marks the agent's inventories: ${fix}`,
      )
    // Set by the agent itself; the same values (an object exported from the cluster) are harmless.
    for (const [label, value] of [
      [AGENT_LABEL, this.agentName],
      [UNIT_LABEL, hash],
    ] as const) {
      if (label in labels && labels[label] !== value)
        throw new ConfigurationError(
          `${what} carries the label ${label} with another value than the agent sets: ${fix}`,
        )
    }
  }

  private nextRetry(unit: Unit): UnitState {
    const previous = this.retries.get(unit.path)
    const failures = (previous?.digest === unit.digest ? previous.failures : 0) + 1
    const delay = Math.min(
      this.config.syncIntervalMs,
      this.config.gitPollIntervalMs * 2 ** (failures - 1),
    )
    return { failures, retryAt: Date.now() + delay, digest: unit.digest }
  }

  /** Step 6 for one unit: waits for what it applied; looks at what an earlier cycle applied. */
  private async checkHealth(
    outcome: UnitOutcome,
    applied: ObjectRef[] | undefined,
    unit: Unit | undefined,
  ): Promise<void> {
    if (outcome.status === 'synced') {
      const health = await waitHealthy(this.client, applied ?? [], this.config.healthTimeoutMs, {
        limiter: this.limiter,
      })
      outcome.healthy = health.healthy
      if (!health.healthy) {
        outcome.status = 'failed'
        outcome.error = `unhealthy: ${health.problems.join('; ')}`
      }
    } else if (outcome.status === 'unchanged') {
      // Nothing applied now, but a rollout an earlier cycle began may still fail or recover: --once
      // waits for it as for its own; a running agent looks once and reports only a failure.
      const refs = this.workloads(unit)
      if (refs.length === 0) return
      const health = await waitHealthy(
        this.client,
        refs,
        this.config.once ? this.config.healthTimeoutMs : 0,
        { limiter: this.limiter },
      )
      if (health.healthy) outcome.healthy = true
      else if (health.failed || this.config.once) {
        outcome.healthy = false
        outcome.status = 'failed'
        outcome.error = `unhealthy: ${health.problems.join('; ')}`
      }
    }
  }

  /** The unit's objects whose health is waited for (workloads), where they live. */
  private workloads(unit: Unit | undefined): ObjectRef[] {
    return (unit?.objects ?? [])
      .map((m) => refOf(m.object))
      .filter(needsWait)
      .map((ref) => ({ ...ref, namespace: ref.namespace ?? this.config.defaultNamespace }))
  }

  /** Fields another controller owns (an HPA's replicas) belong out of git: say so. */
  private warnOwnedFields(unit: Unit, objects: KubeObject[]): void {
    const scaled = new Set(
      objects
        .filter((o) => o.kind === 'HorizontalPodAutoscaler')
        .map((o) => {
          const target = (
            o.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined
          )?.scaleTargetRef
          return `${target?.kind}/${o.metadata.namespace ?? ''}/${target?.name}`
        }),
    )
    for (const o of objects) {
      if (
        scaled.has(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`) &&
        (o.spec as { replicas?: number } | undefined)?.replicas !== undefined
      ) {
        this.log.warn(
          `event=owned-field unit=${unit.path} ${o.kind}/${o.metadata.name} sets spec.replicas, which its HorizontalPodAutoscaler owns; the agent forces git's value on every apply — remove replicas from git`,
        )
      }
    }
  }

  async dispose(): Promise<void> {
    await this.git?.dispose()
  }
}

/** The first few errors, and how many more: one failing namespace can fail hundreds of objects. */
function summarize(errors: string[]): string {
  const shown = errors.slice(0, 3).join('; ')
  return errors.length > 3 ? `${shown}; and ${errors.length - 3} more` : shown
}

/** True when a checkout exists under the work dir (for messages at start). */
export function hasCheckout(workDir: string): boolean {
  return existsSync(join(workDir, 'repo', '.git'))
}
