/** Reading trees and blobs from git's objects: `ls-tree -z` and `cat-file --batch` output, as bytes. */
import { GitCommandError } from './exec.js'

/** One line of `git ls-tree`: a blob (file), tree (folder) or commit (submodule). */
export interface TreeEntry {
  path: string
  /** `100644`, `100755`, `120000` (a symlink), `040000`, `160000`. */
  mode: string
  type: string
  hash: string
  /** A blob's size in bytes (`git ls-tree -l`); 0 for folders and submodules. */
  size: number
  /**
   * Set when the path is not UTF-8: how many of its `/`-separated names come before the first that
   * is not. Such a name is shown with its bytes escaped (`\xff`); two of them never read as one.
   */
  notUtf8At?: number
}

/** `git ls-tree -r -t -l -z --full-tree` of `path` (the whole tree when empty) at `commit`. */
export function lsTreeArgs(commit: string, path: string): string[] {
  return [
    // A path is a path, never pathspec magic (`:x`).
    '--literal-pathspecs',
    'ls-tree',
    '-r',
    '-t',
    '-l',
    '-z',
    '--full-tree',
    commit,
    ...(path ? ['--', `${path}/`] : []),
  ]
}

/** The entries of `lsTreeArgs` output. */
export function parseTree(out: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = []
  // Split as bytes: a path is decoded on its own, strictly (a lossy decode makes names meet).
  for (let at = 0; at < out.length;) {
    const nul = out.indexOf(0, at)
    const end = nul < 0 ? out.length : nul
    const line = out.subarray(at, end)
    at = end + 1
    const tab = line.indexOf(0x09)
    if (tab < 0) continue
    // "<mode> <type> <hash> <size, padded>": the size is "-" for folders and submodules.
    const [mode, type, hash, size] = line.subarray(0, tab).toString('latin1').trim().split(/ +/)
    entries.push({
      mode,
      type,
      hash,
      size: Number(size) || 0,
      ...decodePath(line.subarray(tab + 1)),
    })
  }
  return entries
}

/**
 * The most `cat-file --batch` may write for these blobs: each answer's header, "<hash> blob <size>\n",
 * its content and the newline after it.
 */
export function batchBound(sizes: Map<string, number>): number {
  let bound = 0
  for (const [hash, size] of sizes) bound += size + hash.length + 32
  return bound
}

/** The blobs in `cat-file --batch` output, by hash. */
export function parseBatch(out: Buffer): Map<string, Buffer> {
  const blobs = new Map<string, Buffer>()
  // Each answer: "<hash> <type> <size>\n<size bytes>\n", or "<name> missing\n".
  let at = 0
  while (at < out.length) {
    const eol = out.indexOf(0x0a, at)
    const header = out.subarray(at, eol).toString('latin1').split(' ')
    if (header.length !== 3) throw new GitCommandError(`git cannot read object ${header[0]}`)
    const size = Number(header[2])
    blobs.set(header[0], out.subarray(eol + 1, eol + 1 + size))
    at = eol + 1 + size + 1
  }
  return blobs
}

// ignoreBOM: a leading U+FEFF stays part of the name (dropped, "\uFEFFa" would read as "a").
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * A path from git as text. One that is not UTF-8 keeps each byte of its names that are not as `\xNN`,
 * and says which name is the first of them (see `TreeEntry.notUtf8At`).
 */
function decodePath(bytes: Buffer): { path: string; notUtf8At?: number } {
  try {
    return { path: strictUtf8.decode(bytes) }
  } catch {
    // "/" is never part of a longer UTF-8 sequence: names can be decoded one by one.
    let notUtf8At: number | undefined
    const names = bytes
      .toString('latin1')
      .split('/')
      .map((latin1, i) => {
        const name = Buffer.from(latin1, 'latin1')
        try {
          return strictUtf8.decode(name)
        } catch {
          notUtf8At ??= i
          // A backslash is escaped too: two different names never read the same.
          const escape = (b: number) =>
            b === 0x5c ? '\\\\' : b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16)}`
          return [...name].map(escape).join('')
        }
      })
    return { path: names.join('/'), notUtf8At }
  }
}
