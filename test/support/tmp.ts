/** Temporary folders that tests clean up after themselves. */
import { mkdtempSync, rmSync, cpSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const made: string[] = []

/** A new empty folder, removed by `cleanupTempDirs()`. */
export function tempDir(prefix = 'gitops-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

/** A copy of `source` in a new temp folder; returns the copy's path. */
export function tempCopy(source: string): string {
  const dir = join(tempDir(), 'copy')
  cpSync(source, dir, { recursive: true })
  return dir
}

export function cleanupTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
}
