// The real podinfo app (../shared/fixtures) rendered by the bundled action and by the CLI, compared with
// what the pinned `kubectl kustomize` gives for the same overlay, with and without image overrides.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseDocument } from 'yaml'
import { objectKey } from '../../src/lib/manifests/identity.js'
import { parseManifestText, type KubeObject } from '../../src/lib/manifests/yaml.js'
import { kubectl, sharedFixtures } from '../support/paths.js'
import { runActionBundle, runCli } from '../support/run-bundle.js'
import { cleanupTempDirs, tempCopy, tempDir } from '../support/tmp.js'
import { treeState } from '../support/tree.js'

afterAll(cleanupTempDirs)

const podinfo = join(sharedFixtures, 'apps', 'podinfo')
const targets = [
  'kustomize',
  'deploy/overlays/dev',
  'deploy/overlays/staging',
  'deploy/overlays/production',
]
const override = 'ghcr.io/stefanprodan/podinfo=registry.example.com/mirror/podinfo:7.0.0'

function byKey(text: string, source: string): Map<string, KubeObject> {
  const objects = parseManifestText(text, source).map((d) => d.value as KubeObject)
  return new Map(objects.map((o) => [objectKey(o), o]))
}

/** kubectl kustomize of the overlay, with the images set by editing a copy's kustomization. */
function expected(app: string, target: string, withOverride: boolean): Map<string, KubeObject> {
  const dir = join(app, target)
  if (withOverride) {
    const file = join(dir, 'kustomization.yaml')
    const doc = parseDocument(readFileSync(file, 'utf8'))
    doc.set('images', [
      {
        name: 'ghcr.io/stefanprodan/podinfo',
        newName: 'registry.example.com/mirror/podinfo',
        newTag: '7.0.0',
      },
    ])
    writeFileSync(file, doc.toString())
  }
  return byKey(execFileSync(kubectl, ['kustomize', dir]).toString(), `kubectl kustomize ${target}`)
}

describe.each(targets)('podinfo %s', (target) => {
  test.each([false, true])(
    'action and CLI match kubectl kustomize (image override: %s)',
    async (withOverride) => {
      const app = tempCopy(podinfo)
      const before = treeState(app)
      const out = join(tempDir(), 'out')
      const inputs: Record<string, string> = {
        path: join(app, target),
        'output-dir': out,
        kustomize: kubectl,
      }
      if (withOverride) inputs.images = override
      const r = await runActionBundle('render', inputs)
      expect(r.code).toBe(0)
      expect(treeState(app)).toEqual(before)

      const cliOut = join(tempDir(), 'out')
      const cli = await runCli([
        'render',
        '--path',
        join(app, target),
        '--output-dir',
        cliOut,
        '--kustomize',
        kubectl,
        ...(withOverride ? ['--images', override] : []),
      ])
      expect(cli.code).toBe(0)
      expect(cli.outputs.digest).toBe(r.outputs.digest)

      const want = expected(app, target, withOverride)
      const got = byKey(readFileSync(`${out}.yaml`, 'utf8'), 'render output')
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort())
      for (const [key, object] of want) expect(got.get(key)).toEqual(object)
      expect(r.outputs.objects).toBe(String(want.size))
      if (withOverride)
        expect(readFileSync(`${out}.yaml`, 'utf8')).toContain(
          'registry.example.com/mirror/podinfo:7.0.0',
        )
    },
  )
})
