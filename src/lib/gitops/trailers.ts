/**
 * Commit messages of the gitops repo: a subject that says what happened (`release(staging/shop): 1.4.2`)
 * and git trailers, so that plain `git log` answers "what was released where, from which commit".
 */

export interface Trailer {
  key: string
  value: string
}

/** Every trailer a gitops commit may carry, in the order written. */
export const TRAILERS = {
  app: 'Gitops-App',
  env: 'Gitops-Env',
  version: 'Gitops-Version',
  digest: 'Gitops-Digest',
  sourceRepo: 'Source-Repo',
  sourceCommit: 'Source-Commit',
  sourceRun: 'Source-Run',
  promotedFrom: 'Promoted-From',
  releasedBy: 'Released-By',
  rollbackTo: 'Rollback-To',
  reverts: 'Reverts',
} as const

/** What a commit says of the release it puts in place: which app, env and version, from where. */
export type ReleaseTrailerValues = {
  [K in Exclude<keyof typeof TRAILERS, 'reverts'>]?: string
} & { app: string; env: string; version: string; reverts?: string[] }

/**
 * The trailers of a release, promote, rollback or unpin commit, always in the same order; what is not
 * given is left out. `reverts` gives one `Reverts:` line per commit undone.
 */
export function releaseTrailers(values: ReleaseTrailerValues): Trailer[] {
  return Object.entries(TRAILERS).flatMap(([field, key]) => {
    const value = values[field as keyof ReleaseTrailerValues]
    const list = Array.isArray(value) ? value : [value ?? '']
    return list.map((v) => ({ key, value: v }))
  })
}

/** Builds a message: subject, optional body, a blank line, then the trailers. */
export function commitMessage(
  subject: string,
  body: string | undefined,
  trailers: Trailer[],
): string {
  const lines = [subject]
  if (body && body.trim()) lines.push('', body.trim())
  const present = trailers.filter((t) => t.value !== '')
  if (present.length > 0) {
    lines.push('', ...present.map((t) => `${t.key}: ${t.value.replace(/\s*\n\s*/g, ' ')}`))
  }
  return `${lines.join('\n')}\n`
}

/** Every trailer of a message (the last paragraph's `Key: value` lines), in order. */
export function parseTrailers(message: string): Trailer[] {
  const paragraphs = message.trim().split(/\n\s*\n/)
  if (paragraphs.length < 2) return []
  const last = paragraphs[paragraphs.length - 1].split('\n')
  const trailers: Trailer[] = []
  for (const line of last) {
    const m = /^([A-Za-z][A-Za-z0-9-]*): (.*)$/.exec(line)
    if (!m) return []
    trailers.push({ key: m[1], value: m[2].trim() })
  }
  return trailers
}

/** The first value of a trailer, or undefined. */
export function trailer(message: string, key: string): string | undefined {
  return parseTrailers(message).find((t) => t.key.toLowerCase() === key.toLowerCase())?.value
}

/** The kind of gitops commit from its subject: `release`, `promote`, `rollback`, `unpin`, `retire`. */
export function commitKind(message: string): string | undefined {
  return /^(release|promote|rollback|unpin|retire)\(/.exec(message)?.[1]
}
