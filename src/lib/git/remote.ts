/** What a remote URL is: its transport, and a form safe to print. */

export type Transport = 'ssh' | 'https' | 'http' | 'file'

/** `git@host:path`, `ssh://…`, `https://…`, `file://…` or a local path. */
export function transportOf(url: string): Transport {
  if (/^https:\/\//i.test(url)) return 'https'
  if (/^http:\/\//i.test(url)) return 'http'
  if (/^ssh:\/\//i.test(url) || /^[^/@:]+@[^/:]+:/.test(url)) return 'ssh'
  return 'file'
}

/**
 * The URL without secrets in its user info, for logs and errors: everything up to the last `@` before
 * the host goes (a password may itself hold an `@`) for http(s), where a user name alone may be a token
 * (`https://token@host/...` → `https://host/...`), and for any scheme when it holds a password. An SSH
 * user name alone (`ssh://git@host/...`) is no secret and stays, as git and Flux print it.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i, (all, scheme: string, info: string) =>
    /^https?:\/\/$/i.test(scheme) || info.includes(':') ? scheme : all,
  )
}

/** An http(s) URL split into the URL git may store and the user info it held (URL-decoded). */
export interface UrlCredentials {
  url: string
  user?: string
  password?: string
}

/**
 * Takes the user info out of an http(s) URL (`https://user:token@host/…`), so that git never stores it
 * in `.git/config`; other URLs are returned as they are.
 */
export function splitUrlCredentials(url: string): UrlCredentials {
  const match = /^(https?:\/\/)([^/?#]*)@/i.exec(url)
  if (!match) return { url }
  const info = match[2]
  const colon = info.indexOf(':')
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s)
    } catch {
      return s
    }
  }
  const user = decode(colon < 0 ? info : info.slice(0, colon))
  const password = colon < 0 ? undefined : decode(info.slice(colon + 1))
  return { url: match[1] + url.slice(match[0].length), user: user || undefined, password }
}

/** The host of a remote (`git@host:path`, `ssh://`, `https://`); undefined for a local or `file://` one. */
export function hostOf(url: string): string | undefined {
  const scp = /^[^@/]+@([^:/]+):/.exec(url)
  if (scp) return scp[1]
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'file:' ? undefined : parsed.hostname
  } catch {
    return undefined
  }
}
