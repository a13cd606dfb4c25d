/** `unpin`: clear the pin a rollback set, in a commit of its own, so publishes go through again. */
import { join } from 'node:path'
import { promises as fs } from 'node:fs'
import { ConfigurationError } from '../errors.js'
import type { Logger } from '../log.js'
import { RELEASE_FILE, releasePath, validateName } from './layout.js'
import { readRelease, releaseText } from './release.js'
import { commitMessage, releaseTrailers } from './trailers.js'
import {
  commitToGitops,
  outcome,
  type ChangeOutcome,
  type ReleaseRepoOptions,
} from './transaction.js'

/** An unpin always pushes: it only lifts a pin, there is nothing to review. */
export interface UnpinOptions extends Omit<ReleaseRepoOptions, 'mode' | 'pullRequest'> {
  env: string
  app: string
}

export interface UnpinResult extends Omit<ChangeOutcome, 'pullRequestUrl'> {
  version: string
}

export async function unpin(options: UnpinOptions, log: Logger): Promise<UnpinResult> {
  const env = validateName('env', options.env)
  const app = validateName('app', options.app)
  const path = releasePath(env, app)
  const tx = await commitToGitops(
    { ...options, url: options.repository, mode: 'push' },
    log,
    async (git) => {
      // readRelease checks every component of the path (no symlink on the way) before reading it.
      const current = await readRelease(git.dir, path)
      const dir = join(git.dir, path)
      if (!current)
        throw new ConfigurationError(
          `${app} was never released to ${env} (no ${path}/${RELEASE_FILE})`,
        )
      if (!current.pinned) {
        log.info(`${path} is not pinned: nothing to do`)
        return { commit: false as const, result: { version: current.version } }
      }
      const { pinned, ...info } = current
      await fs.writeFile(join(dir, RELEASE_FILE), releaseText(info))
      await git.addAll(path)
      const message = commitMessage(
        `unpin(${env}/${app}): ${current.version}`,
        `Lifts the pin of the rollback from ${pinned.from} (${pinned.reason}); the next publish goes through.`,
        releaseTrailers({ app, env, version: current.version }),
      )
      return { commit: true as const, message, result: { version: current.version } }
    },
  )
  return outcome(tx)
}
