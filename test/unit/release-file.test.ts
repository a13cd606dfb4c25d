import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseRelease } from '../../src/lib/gitops/release.js'
import { safeRepoPath } from '../../src/lib/gitops/safe-path.js'
import { compareReleases } from '../../src/lib/gitops/version.js'

describe('parseRelease never echoes the text', () => {
  const SECRET = 'ghp_TOPSECRETTOKEN1234567890'
  test.each([
    ['not JSON', `${SECRET}\n`, /is not a valid release file: it is not JSON$/],
    ['JSON that is not an object', `"${SECRET}"`, /it is not a JSON object$/],
    ['no version', `{"digest":"${SECRET}"}`, /'version' and 'digest' must be strings$/],
    ['a number as version', `{"version":1,"digest":"x","note":"${SECRET}"}`, /must be strings$/],
  ])('%s', (_name, text, message) => {
    let error: Error | undefined
    try {
      parseRelease(text, 'releases/staging/shop/release.json')
    } catch (e) {
      error = e as Error
    }
    expect(error?.message).toMatch(
      /^releases\/staging\/shop\/release\.json is not a valid release file/,
    )
    expect(error?.message).toMatch(message)
    expect(error?.message).not.toContain('TOPSECRET')
  })

  test('a valid file reads back', () => {
    expect(parseRelease('{"version":"1.0.0","digest":"sha256:1"}', 'f')).toMatchObject({
      version: '1.0.0',
    })
  })
})

describe('safeRepoPath', () => {
  let root: string
  let outside: string
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'gitops-safe-'))
    outside = mkdtempSync(join(tmpdir(), 'gitops-outside-'))
  })
  afterEach(() => {
    rmSync(root, { recursive: true, force: true })
    rmSync(outside, { recursive: true, force: true })
  })

  test('real folders, and components not there yet, resolve inside the clone', async () => {
    mkdirSync(join(root, 'releases', 'staging'), { recursive: true })
    await expect(safeRepoPath(root, 'releases/staging/shop')).resolves.toBe(
      join(root, 'releases', 'staging', 'shop'),
    )
    await expect(safeRepoPath(root, 'releases/prod/shop/release.json', 'file')).resolves.toBe(
      join(root, 'releases', 'prod', 'shop', 'release.json'),
    )
  })

  test.each([
    ['releases', 'releases'],
    ['releases/staging', 'releases/staging'],
    ['releases/staging/shop', 'releases/staging/shop'],
  ])('a symlink at %s is named', async (link, named) => {
    mkdirSync(join(root, link, '..'), { recursive: true })
    symlinkSync(outside, join(root, link))
    await expect(safeRepoPath(root, 'releases/staging/shop')).rejects.toThrow(
      new RegExp(`^${named.replace(/\//g, '\\/')} is a symbolic link in the gitops repo`),
    )
  })

  test('a symlink inside the clone is refused too, and a file where a folder must be', async () => {
    mkdirSync(join(root, 'real'))
    symlinkSync(join(root, 'real'), join(root, 'releases'))
    await expect(safeRepoPath(root, 'releases/staging')).rejects.toThrow(/^releases is a symbolic/)
    rmSync(join(root, 'releases'))
    writeFileSync(join(root, 'releases'), 'x')
    await expect(safeRepoPath(root, 'releases/staging')).rejects.toThrow(
      /^releases in the gitops repo is not a folder/,
    )
  })

  test('a symlinked file and a path out of the clone are refused', async () => {
    mkdirSync(join(root, 'releases', 'staging', 'shop'), { recursive: true })
    writeFileSync(join(outside, 'secret'), 'x')
    symlinkSync(join(outside, 'secret'), join(root, 'releases/staging/shop/release.json'))
    await expect(safeRepoPath(root, 'releases/staging/shop/release.json', 'file')).rejects.toThrow(
      /^releases\/staging\/shop\/release\.json is a symbolic link/,
    )
    await expect(safeRepoPath(root, '../x')).rejects.toThrow(/does not lie inside the gitops repo/)
  })
})

describe('compareReleases', () => {
  const at = (version: string, sourceCommitTime?: string) => ({ version, sourceCommitTime })
  test('the same string is the same version', () => {
    expect(compareReleases(at('3f1c2aa'), at('3f1c2aa'))).toBe(0)
  })
  test('SemVer orders SemVer versions', () => {
    expect(compareReleases(at('1.10.0'), at('1.9.0'))).toBe(1)
    expect(compareReleases(at('2.0.0-rc.1'), at('2.0.0'))).toBeLessThan(0)
  })
  test('two source commit times order what SemVer cannot', () => {
    expect(
      compareReleases(at('bbb', '2026-01-02T00:00:00Z'), at('aaa', '2026-01-01T00:00:00Z')),
    ).toBe(1)
    expect(
      compareReleases(at('bbb', '2026-01-01T00:00:00Z'), at('aaa', '2026-01-02T00:00:00Z')),
    ).toBe(-1)
  })
  test('different versions that nothing orders are not the same: undefined, for the history to decide', () => {
    expect(compareReleases(at('9e8d7cc'), at('3f1c2aa'))).toBeUndefined()
    expect(compareReleases(at('9e8d7cc', '2026-01-01T00:00:00Z'), at('3f1c2aa'))).toBeUndefined()
    expect(compareReleases(at('1.0.0+b2'), at('1.0.0+b1'))).toBeUndefined()
  })
})
