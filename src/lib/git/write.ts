/** Writing to a clone and its remote: the commit and push commands, and what a rejected push says. */
import { errorMessage } from '../errors.js'

export interface Identity {
  name: string
  email: string
}

/** Thrown when the remote refused a push because its branch moved (someone else pushed first). */
export class PushRejectedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PushRejectedError'
  }
}

/** Messages of a rejected, non-fast-forward push, in the words of git and of the common hosts. */
const REJECTED =
  /\[rejected\]|non-fast-forward|fetch first|failed to update ref|cannot lock ref|stale info|incorrect old value/i

/** Commits what is staged, with `author` as author and committer, skipping hooks and signing. */
export function commitArgs(message: string, author: Identity): string[] {
  return [
    '-c',
    `user.name=${author.name}`,
    '-c',
    `user.email=${author.email}`,
    'commit',
    '--quiet',
    '--no-verify',
    '--no-gpg-sign',
    '-m',
    message,
  ]
}

/** Pushes HEAD to `branch`; with `lease`, only if the remote branch is still at that commit. */
export function pushArgs(branch: string, lease?: string): string[] {
  const args = ['push', '--quiet', '--porcelain', 'origin']
  if (lease !== undefined) args.push(`--force-with-lease=refs/heads/${branch}:${lease}`)
  args.push(`HEAD:refs/heads/${branch}`)
  return args
}

/** A failed push as a `PushRejectedError` when the branch moved; any other failure as it is. */
export function pushFailure(error: unknown): unknown {
  return REJECTED.test(errorMessage(error)) ? new PushRejectedError(errorMessage(error)) : error
}
