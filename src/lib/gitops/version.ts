/**
 * Release versions: SemVer 2.0 after stripping a leading `v` (pre-releases order before their release,
 * build metadata is ignored). A version that is not SemVer (a commit SHA, a date) compares by the time of
 * its source commit, and without one, by the order of publishes in the gitops repo.
 */

interface SemVer {
  major: number
  minor: number
  patch: number
  pre: string[]
}

const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/

export function parseSemVer(version: string): SemVer | undefined {
  const m = SEMVER.exec(version)
  if (!m) return undefined
  return { major: +m[1], minor: +m[2], patch: +m[3], pre: m[4] ? m[4].split('.') : [] }
}

function compareSemVer(a: SemVer, b: SemVer): number {
  for (const key of ['major', 'minor', 'patch'] as const) {
    if (a[key] !== b[key]) return a[key] < b[key] ? -1 : 1
  }
  if (a.pre.length === 0 || b.pre.length === 0) return b.pre.length - a.pre.length
  for (let i = 0; i < Math.max(a.pre.length, b.pre.length); i++) {
    if (i >= a.pre.length) return -1
    if (i >= b.pre.length) return 1
    const x = a.pre[i]
    const y = b.pre[i]
    if (x === y) continue
    const xn = /^\d+$/.test(x)
    const yn = /^\d+$/.test(y)
    if (xn && yn) return +x < +y ? -1 : 1
    if (xn !== yn) return xn ? -1 : 1
    return x < y ? -1 : 1
  }
  return 0
}

/** A version with the time of its source commit (ISO 8601), for comparing non-SemVer versions. */
export interface VersionStamp {
  version: string
  sourceCommitTime?: string
}

/**
 * Orders two releases: negative when `a` is older, positive when newer, 0 only when they are the same
 * version (the same string); undefined when nothing here orders them. Two SemVer versions of different
 * precedence compare as SemVer; otherwise two source commit times decide. Two different version strings
 * are never the same version: a caller that gets undefined orders them by the gitops repo's own history
 * (the release being published now is the newer one).
 */
export function compareReleases(a: VersionStamp, b: VersionStamp): number | undefined {
  if (a.version === b.version) return 0
  const sa = parseSemVer(a.version)
  const sb = parseSemVer(b.version)
  if (sa && sb) {
    const c = compareSemVer(sa, sb)
    if (c !== 0) return c
    // Same precedence (a leading v, build metadata): the commit times may still tell them apart.
  }
  const ta = a.sourceCommitTime ? Date.parse(a.sourceCommitTime) : NaN
  const tb = b.sourceCommitTime ? Date.parse(b.sourceCommitTime) : NaN
  if (Number.isNaN(ta) || Number.isNaN(tb) || ta === tb) return undefined
  return ta < tb ? -1 : 1
}
