/**
 * Real git repositories for tests: a bare remote on disk with a first commit, reached by `file://`, and
 * helpers to read what landed in it. Fixed identities and dates keep hashes stable where that matters.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './tmp.js'

export const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Author',
  GIT_COMMITTER_EMAIL: 'author@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: gitEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString()
}

export interface Remote {
  /** The bare repository's path. */
  path: string
  url: string
}

/** A bare remote whose `main` holds one commit with a README. */
export function bareRemote(): Remote {
  const root = tempDir('gitops-remote-')
  const path = join(root, 'gitops.git')
  git(root, 'init', '--quiet', '--bare', '--initial-branch=main', path)
  const work = join(root, 'seed')
  git(root, 'init', '--quiet', '--initial-branch=main', work)
  writeFileSync(join(work, 'README.md'), '# gitops repo\n')
  git(work, 'add', '.')
  git(work, 'commit', '--quiet', '-m', 'init')
  git(work, 'push', '--quiet', path, 'main')
  return { path, url: `file://${path}` }
}

/** A file of the remote's branch (default `main`), or undefined. */
export function remoteFile(remote: Remote, file: string, ref = 'main'): string | undefined {
  try {
    return git(remote.path, 'show', `${ref}:${file}`)
  } catch {
    return undefined
  }
}

/** The names of the files in a folder of the remote's branch. */
export function remoteFolder(remote: Remote, folder: string, ref = 'main'): string[] {
  try {
    return git(remote.path, 'ls-tree', '--name-only', `${ref}:${folder}`)
      .trim()
      .split('\n')
      .filter(Boolean)
  } catch {
    return []
  }
}

export function remoteHead(remote: Remote, ref = 'main'): string {
  return git(remote.path, 'rev-parse', ref).trim()
}

/** Full messages of the remote's commits, newest first. */
export function remoteMessages(remote: Remote, ref = 'main'): string[] {
  return git(remote.path, 'log', '--format=%B%x1e', ref)
    .split('\x1e')
    .map((m) => m.trim())
    .filter(Boolean)
}

/** Writes a manifests folder (one object a file) of a Deployment and a Service for `app`, at `image`. */
export function manifestsFolder(
  app: string,
  image: string,
  extra: Record<string, string> = {},
): string {
  const dir = join(tempDir('gitops-manifests-'), 'manifests')
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, `deployment-${app}.yaml`),
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${app}\n  namespace: apps\nspec:\n  selector:\n    matchLabels:\n      app: ${app}\n  template:\n    metadata:\n      labels:\n        app: ${app}\n    spec:\n      containers:\n        - name: ${app}\n          image: ${image}\n`,
  )
  writeFileSync(
    join(dir, `service-${app}.yaml`),
    `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${app}\n  namespace: apps\nspec:\n  selector:\n    app: ${app}\n  ports:\n    - port: 80\n`,
  )
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text)
  return dir
}

/** Commits files to a branch of the remote (content, or null to delete), as a person pushing would. */
export function pushFiles(
  remote: Remote,
  files: Record<string, string | null | { symlink: string }>,
  message = 'change',
  branch = 'main',
): string {
  const dir = join(tempDir('gitops-push-'), 'w')
  git(tempDir(), 'clone', '--quiet', remote.url, dir)
  for (const [file, content] of Object.entries(files)) {
    const path = join(dir, file)
    if (content === null) {
      git(dir, 'rm', '-r', '-q', '--ignore-unmatch', file)
    } else {
      mkdirSync(join(path, '..'), { recursive: true })
      if (typeof content === 'string') writeFileSync(path, content)
      else symlinkSync(content.symlink, path)
    }
  }
  git(dir, 'add', '--all')
  git(dir, 'commit', '--quiet', '--allow-empty', '-m', message)
  git(dir, 'push', '--quiet', 'origin', `HEAD:${branch}`)
  return git(dir, 'rev-parse', 'HEAD').trim()
}
