/** What a release changes in a release folder: objects added, changed and removed (what the agent prunes). */
import { existsSync } from 'node:fs'
import type { Logger } from '../log.js'
import { readManifestFolder } from '../manifests/folder.js'
import { describeObject, objectKey } from '../manifests/identity.js'
import { objectDigest } from '../manifests/objects.js'
import type { KubeObject } from '../manifests/yaml.js'

export interface ObjectDiff {
  added: string[]
  changed: string[]
  removed: string[]
}

/** The objects of a release folder as it is now (none when it does not exist or cannot be read). */
export async function folderObjects(dir: string, log: Logger): Promise<KubeObject[]> {
  if (!existsSync(dir)) return []
  try {
    const docs = await readManifestFolder(dir, { skip: ['release.json'] })
    return docs.map((d) => d.value as KubeObject)
  } catch (error) {
    log.warn(
      `could not read the objects now in ${dir} (${(error as Error).message}); the diff counts all as added`,
    )
    return []
  }
}

export function diffObjects(before: KubeObject[], after: KubeObject[]): ObjectDiff {
  const index = (objects: KubeObject[]) => new Map(objects.map((o) => [objectKey(o), o]))
  const old = index(before)
  const now = index(after)
  const diff: ObjectDiff = { added: [], changed: [], removed: [] }
  for (const [key, object] of now) {
    const previous = old.get(key)
    if (!previous) diff.added.push(describeObject(object))
    else if (objectDigest(previous) !== objectDigest(object))
      diff.changed.push(describeObject(object))
  }
  for (const [key, object] of old) if (!now.has(key)) diff.removed.push(describeObject(object))
  return diff
}

/** A markdown table of the diff, for job summaries. */
export function diffTable(diff: ObjectDiff): string {
  const rows = [
    ...diff.added.map((o) => `| added | \`${o}\` |`),
    ...diff.changed.map((o) => `| changed | \`${o}\` |`),
    ...diff.removed.map((o) => `| removed (the agent prunes it) | \`${o}\` |`),
  ]
  if (rows.length === 0) return 'No object changed.\n'
  return ['| change | object |', '| --- | --- |', ...rows, ''].join('\n')
}
