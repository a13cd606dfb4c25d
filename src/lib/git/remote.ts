/** What a remote URL is: its transport, and a form safe to print. */

export type Transport = 'ssh' | 'https' | 'http' | 'file'

/** `git@host:path`, `ssh://…`, `https://…`, `file://…` or a local path. */
export function transportOf(url: string): Transport {
  if (/^https:\/\//i.test(url)) return 'https'
  if (/^http:\/\//i.test(url)) return 'http'
  if (/^ssh:\/\//i.test(url) || /^[^/@:]+@[^/:]+:/.test(url)) return 'ssh'
  return 'file'
}

/** The URL without any user info (`https://token@host/...` → `https://host/...`), for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/^(https?:\/\/)[^@/]+@/i, '$1')
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
