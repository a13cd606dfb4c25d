/** Step 2: the units under the git paths at the commit; a unit that fails to load carries its error. */
import { errorMessage } from '../../lib/errors.js'
import { ProcessLimitError } from '../../lib/process/run.js'
import { loadUnits, type UnitCache, type Unit } from '../units.js'
import type { AgentContext, Step } from './context.js'
import type { CycleResult } from './outcome.js'
import type { Repo } from './refresh.js'

/**
 * Every unit, as this cycle's own copies (it marks them, with a conflict say, never the cached ones).
 * Git failing to give them ends the cycle, changing nothing.
 */
export async function load(
  { config, log }: AgentContext,
  repo: Repo,
  commit: string,
  cache: UnitCache,
): Promise<Step<Unit[], CycleResult>> {
  try {
    const loaded = await loadUnits(
      await repo.files(commit),
      config.gitPaths,
      {
        manifestGeneration: config.manifestGeneration,
        cache,
        kustomize: {
          timeoutMs: config.kustomizeTimeoutMs,
          memoryLimitMB: config.kustomizeMemoryLimitMB,
        },
      },
      log,
    )
    return { next: loaded.map((u) => ({ ...u })) }
  } catch (error) {
    const message = errorMessage(error)
    repo.forgetListing()
    // A build killed because the agent is stopping is no error of git's.
    const stopping = error instanceof ProcessLimitError && error.reason === 'stopped'
    log[stopping ? 'info' : 'error'](
      `event=${stopping ? 'stopping' : 'git-error'}: ${message}; nothing is changed in the cluster`,
    )
    return { end: { gitError: message, units: [] } }
  }
}
