/**
 * Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for (`Accept:
 * application/json;as=Table;v=v1;g=meta.k8s.io`) when it prints for humans, and PartialObjectMetadata
 * for metadata-only clients. Columns are Name, a few per-kind ones, and Age.
 */
import type { KubeObject } from './json.js'
import type { ResourceDef } from './resources.js'

interface Column {
  name: string
  type: string
  format?: string
  description: string
  cell(object: KubeObject): string | number
}

/** Kubernetes' `duration.HumanDuration`: `45s`, `3m12s`, `17m`, `5h4m`, `3d`, … */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`
  if (minutes < 180) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`
  if (hours < 48) return `${hours}h`
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`
  const years = Math.floor(hours / 24 / 365)
  if (hours < 24 * 365 * 8) return `${years}y${Math.floor(hours / 24) % 365}d`
  return `${years}y`
}

const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  cell: (o) => o.metadata?.name ?? '',
}

const ageColumn: Column = {
  name: 'Age',
  type: 'string',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (o) => humanDuration(Date.now() - Date.parse(o.metadata?.creationTimestamp ?? '')),
}

const KIND_COLUMNS: Record<string, Column[]> = {
  Namespace: [
    {
      name: 'Status',
      type: 'string',
      description: 'The status of the namespace',
      cell: (o) => o.status?.phase ?? '',
    },
  ],
  ConfigMap: [
    {
      name: 'Data',
      type: 'integer',
      description: 'Number of keys',
      cell: (o) => Object.keys({ ...o.data, ...o.binaryData } as object).length,
    },
  ],
  Deployment: [
    {
      name: 'Ready',
      type: 'string',
      description: 'Number of ready pods',
      cell: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
    },
    {
      name: 'Up-to-date',
      type: 'integer',
      description: 'Updated pods',
      cell: (o) => o.status?.updatedReplicas ?? 0,
    },
    {
      name: 'Available',
      type: 'integer',
      description: 'Available pods',
      cell: (o) => o.status?.availableReplicas ?? 0,
    },
  ],
}

/** The metadata-only form of an object. */
export function partialMetadata(object: KubeObject): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata }
}

/** A Table of `objects`; `includeObject` is the query parameter (`None`, `Metadata` default, `Object`). */
export function toTable(
  def: ResourceDef,
  objects: KubeObject[],
  includeObject: string | null,
  listMeta: Record<string, unknown> | undefined,
): KubeObject {
  const columns = [
    nameColumn,
    ...(def.group === '' || def.group === 'apps' ? (KIND_COLUMNS[def.kind] ?? []) : []),
    ageColumn,
  ]
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta ?? {},
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description,
      priority: 0,
    })),
    rows: objects.map((o) => {
      const row: KubeObject = { cells: columns.map((c) => c.cell(o)) }
      if (includeObject === 'Object') row.object = o
      else if (includeObject !== 'None') row.object = partialMetadata(o)
      return row
    }),
  }
}

/** What the Accept header asks for: a Table, PartialObjectMetadata(List), or plain JSON. */
export function requestedForm(accept: string | undefined): 'table' | 'metadata' | 'json' {
  // Clients list preferences in order; the first JSON form we serve wins.
  for (const type of (accept ?? '').split(',')) {
    if (/as=Table/i.test(type)) return 'table'
    if (/as=PartialObjectMetadata/i.test(type)) return 'metadata'
    if (/^\s*(application\/json|\*\/\*)\s*(;|$)/i.test(type)) return 'json'
  }
  return 'json'
}
