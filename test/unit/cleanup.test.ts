import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { registerCleanup, registerTempDir, runCleanups } from '../../src/lib/process/cleanup.js'

test('cleanups run newest first, each once, and one failing does not stop the others', () => {
  const ran: string[] = []
  registerCleanup(() => ran.push('a'))
  registerCleanup(() => {
    throw new Error('boom')
  })
  const unregister = registerCleanup(() => ran.push('removed on the normal path'))
  registerCleanup(() => ran.push('c'))
  unregister()
  runCleanups()
  runCleanups()
  expect(ran).toEqual(['c', 'a'])
})

test('a registered temp folder is removed with what it holds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cleanup-test-'))
  writeFileSync(join(dir, 'key'), 'secret')
  registerTempDir(dir)
  runCleanups()
  expect(existsSync(dir)).toBe(false)
})
