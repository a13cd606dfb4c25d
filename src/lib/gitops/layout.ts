/**
 * The gitops repo convention: `releases/<env>/<app>/` holds one app's rendered objects in one environment,
 * with `release.json` beside them.
 */
import { ConfigurationError } from '../errors.js'

export const RELEASES_DIR = 'releases'
export const RELEASE_FILE = 'release.json'

// DNS-label-like: what can be a folder name, a label value and part of a branch name safely.
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

/** Checks an env or app name; `input` names the input in the error. */
export function validateName(input: string, value: string): string {
  if (!NAME.test(value)) {
    throw new ConfigurationError(
      // The value is not echoed: a secret pasted into the wrong input must not be printed.
      `input '${input}' is not a valid name (lower-case letters, digits and '-', at most 63, ` +
        `starting and ending with a letter or digit)`,
    )
  }
  return value
}

/** `releases/<env>/<app>` (relative to the repo root, always with `/`). */
export function releasePath(env: string, app: string): string {
  return `${RELEASES_DIR}/${env}/${app}`
}
