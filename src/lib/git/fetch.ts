/** The commands that read from the remote: clone and fetch, as argument arrays. */

export interface CloneOptions {
  url: string
  dir: string
  branch?: string
  /** Commits of history to fetch; 0 for all of it. Default 1. */
  depth?: number
  /** false: the work tree stays empty; files are read from git's objects (see `readBlobs`). */
  checkout?: boolean
}

/** `git clone` of one branch (the remote's default without one) into the current folder. */
export function cloneArgs(options: CloneOptions): string[] {
  const depth = options.depth ?? 1
  return [
    'clone',
    '--quiet',
    '--no-tags',
    '--single-branch',
    ...(options.branch ? ['--branch', options.branch] : []),
    ...(depth ? ['--depth', String(depth)] : []),
    ...(options.checkout === false ? ['--no-checkout'] : []),
    // `--`: whatever the URL holds, it is never read as an option.
    '--',
    options.url,
    '.',
  ]
}

/** `git fetch` from origin, without tags, of `refspecs`, with `options` (`--depth 1`, `--unshallow`). */
export function fetchArgs(refspecs: string[], options: string[] = []): string[] {
  return ['fetch', '--quiet', '--no-tags', ...options, 'origin', ...refspecs]
}
