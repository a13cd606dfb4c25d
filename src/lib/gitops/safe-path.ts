/**
 * Paths inside a clone of the gitops repo, checked before anything is read, deleted or written there.
 * Anyone who can push to the gitops repo can commit a symlink (`releases -> /home/runner`); following it
 * would make a publish delete and write files on the runner, outside the clone, before git refuses the
 * pathspec. So every component on the way is `lstat`ed from the clone's root: a symlink is refused by
 * name, and the path must resolve inside the clone.
 */
import { promises as fs } from 'node:fs'
import { isAbsolute, relative, resolve } from 'node:path'
import { ConfigurationError } from '../errors.js'

/** What the last component must be when it exists: a folder (default), a regular file, or either. */
export type Leaf = 'folder' | 'file'

/**
 * Resolves `path` (repo-relative, with `/`) under the clone `root` and returns the absolute path. Throws a
 * ConfigurationError naming the component (repo-relative) that is a symlink, or that is not a folder
 * where one is needed. Components that do not exist yet are fine: they are created as real folders.
 */
export async function safeRepoPath(
  root: string,
  path: string,
  leaf: Leaf = 'folder',
): Promise<string> {
  const full = resolve(root, path)
  const rel = relative(resolve(root), full)
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new ConfigurationError(`${path} does not lie inside the gitops repo`)
  }
  const parts = rel.split(/[\\/]/)
  for (let i = 0; i < parts.length; i++) {
    const shown = parts.slice(0, i + 1).join('/')
    let stat
    try {
      stat = await fs.lstat(resolve(root, ...parts.slice(0, i + 1)))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return full
      throw error
    }
    if (stat.isSymbolicLink()) {
      throw new ConfigurationError(
        `${shown} is a symbolic link in the gitops repo; refusing to read or write through it ` +
          `(it could point outside the repo): replace it with a real ${i < parts.length - 1 || leaf === 'folder' ? 'folder' : 'file'} in git`,
      )
    }
    const last = i === parts.length - 1
    if (!last || leaf === 'folder') {
      if (!stat.isDirectory()) {
        throw new ConfigurationError(
          `${shown} in the gitops repo is not a folder; the releases/<env>/<app>/ layout needs one there`,
        )
      }
    } else if (!stat.isFile()) {
      throw new ConfigurationError(`${shown} in the gitops repo is not a regular file`)
    }
  }
  return full
}
