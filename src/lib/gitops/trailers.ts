/**
 * Commit messages of the gitops repo: a subject that says what happened (`release(staging/shop): 1.4.2`)
 * and git trailers, so that plain `git log` answers "what was released where, from which commit".
 */

export interface Trailer {
  key: string
  value: string
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

/** All values of a trailer (e.g. every `Reverts:`). */
export function trailerValues(message: string, key: string): string[] {
  return parseTrailers(message)
    .filter((t) => t.key.toLowerCase() === key.toLowerCase())
    .map((t) => t.value)
}

/** The kind of gitops commit from its subject: `release`, `promote`, `rollback`, `unpin`, `retire`. */
export function commitKind(message: string): string | undefined {
  return /^(release|promote|rollback|unpin|retire)\(/.exec(message)?.[1]
}
