#!/usr/bin/env node
// `npm run test:reliability`: runs the reliability suite (test/reliability), then prints the table of
// every fault injected: fault | tries | recovered | lost. Fails when a test failed or anything was lost.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = mkdtempSync(join(tmpdir(), 'gitops-reliability-'))
const report = join(dir, 'rows.jsonl')
const jest = spawnSync(
  process.execPath,
  [
    '--experimental-vm-modules',
    join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
    '--runInBand',
    '--config',
    join(root, 'jest.reliability.config.js'),
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, RELIABILITY_REPORT: report } },
)
const rows = existsSync(report)
  ? readFileSync(report, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : []
rmSync(dir, { recursive: true, force: true })

const header = ['fault', 'tries', 'recovered', 'lost']
const cells = rows.map((r) => [r.fault, String(r.tries), String(r.recovered), String(r.lost)])
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
const line = (c) => `| ${c.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`
console.log(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
for (const c of cells) console.log(line(c))
const lost = rows.reduce((sum, r) => sum + r.lost, 0)
console.log(`\n${rows.length} faults, ${lost} lost`)
if (jest.status !== 0) process.exit(jest.status ?? 1)
if (rows.length === 0) {
  console.error('test:reliability: no fault was recorded')
  process.exit(1)
}
if (lost > 0) process.exit(1)
