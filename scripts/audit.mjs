#!/usr/bin/env node
// `npm run audit`: no high or critical advisory in what ships (the production dependencies that ncc
// bundles into dist/). Fails naming each one. Where the registry's advisory service cannot be reached
// (a machine with only a package mirror), says so and does not fail: GitHub CI runs the same check.
import { spawnSync } from 'node:child_process'

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' })
let report
try {
  report = JSON.parse(run.stdout)
} catch {
  report = undefined
}
if (!report || report.error || !report.metadata) {
  const why = report?.message ?? report?.error?.summary ?? 'no answer'
  console.log(`audit: the advisory service could not be reached (${why}); not checked here`)
  process.exit(0)
}
const counts = report.metadata.vulnerabilities ?? {}
const serious = Object.values(report.vulnerabilities ?? {}).filter((v) =>
  ['high', 'critical'].includes(v.severity),
)
console.log(
  `audit of the shipped dependencies: ${Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
)
for (const v of serious) {
  const titles = v.via
    .filter((x) => typeof x === 'object')
    .map((x) => `${x.title} (${x.url})`)
    .join('; ')
  console.error(`  ${v.severity}: ${v.name} ${v.range}: ${titles || `through ${v.via.join(', ')}`}`)
}
process.exit(serious.length > 0 ? 1 : 0)
