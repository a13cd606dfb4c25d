import { execFileSync, spawn } from 'node:child_process'
import {
  existsSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  mkdirSync,
  symlinkSync,
} from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { parseManifestText } from '../../src/lib/manifests/yaml.js'
import { dist, fixtures, kubectl } from '../support/paths.js'
import { runActionBundle, runCli } from '../support/run-bundle.js'
import { cleanupTempDirs, tempCopy, tempDir } from '../support/tmp.js'
import { treeState } from '../support/tree.js'

afterAll(cleanupTempDirs)

function readObjects(file: string) {
  return parseManifestText(readFileSync(file, 'utf8'), file).map((d) => d.value)
}

describe('render action (dist/render/index.js, run as a runner runs it)', () => {
  test('renders an overlay with an image override, leaving the user files as they were', async () => {
    const app = tempCopy(join(fixtures, 'apps', 'hello'))
    const before = treeState(app)
    const out = join(tempDir(), 'out')
    const r = await runActionBundle('render', {
      path: join(app, 'overlays', 'staging'),
      images: 'registry.example.com/team/hello:2.0.1',
      'output-dir': out,
      kustomize: kubectl,
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(treeState(app)).toEqual(before)
    expect(r.outputs['manifests-dir']).toBe(out)
    expect(r.outputs['manifests-file']).toBe(`${out}.yaml`)
    expect(r.outputs.objects).toBe('4')
    expect(r.outputs['kustomize-version']).toMatch(/^v5\./)
    expect(r.outputs.digest).toMatch(/^sha256:[a-f0-9]{64}$/)
    expect(r.stdout).toContain('kubectl kustomize')
    expect(r.summary).toContain('render: 4 objects')
    expect(readdirSync(out).sort()).toEqual([
      'configmap-hello-config-f655md8fbd.yaml',
      'deployment-hello.yaml',
      'namespace-hello-staging.yaml',
      'service-hello.yaml',
    ])
    const [deployment] = readObjects(join(out, 'deployment-hello.yaml')) as any[]
    expect(deployment.spec.template.spec.containers[0].image).toBe(
      'registry.example.com/team/hello:2.0.1',
    )
    expect(deployment.metadata.namespace).toBe('hello-staging')
    // YAML 1.1: the octal mode survives as the number kubectl reads.
    expect(deployment.spec.template.spec.volumes[0].configMap.defaultMode).toBe(493)
    // The single-file form holds the same objects in the stable order.
    expect(readObjects(`${out}.yaml`).map((o: any) => o.kind)).toEqual([
      'Namespace',
      'ConfigMap',
      'Service',
      'Deployment',
    ])
  })

  test('the same input gives the same digest and bytes; another tag another digest', async () => {
    const app = join(fixtures, 'apps', 'hello', 'overlays', 'staging')
    const a = join(tempDir(), 'a')
    const b = join(tempDir(), 'b')
    const r1 = await runActionBundle('render', { path: app, 'output-dir': a, kustomize: kubectl })
    const r2 = await runActionBundle('render', { path: app, 'output-dir': b, kustomize: kubectl })
    expect(r1.outputs.digest).toBe(r2.outputs.digest)
    expect(readFileSync(`${a}.yaml`, 'utf8')).toBe(readFileSync(`${b}.yaml`, 'utf8'))
    const r3 = await runActionBundle('render', {
      path: app,
      'output-dir': b,
      kustomize: kubectl,
      images: 'registry.example.com/team/hello:9',
    })
    expect(r3.outputs.digest).not.toBe(r1.outputs.digest)
  })

  test('namespace input sets the namespace', async () => {
    const out = join(tempDir(), 'out')
    const r = await runActionBundle('render', {
      path: join(fixtures, 'apps', 'hello', 'base'),
      'output-dir': out,
      kustomize: kubectl,
      namespace: 'team-a',
    })
    expect(r.code).toBe(0)
    expect((readObjects(join(out, 'service-hello.yaml'))[0] as any).metadata.namespace).toBe(
      'team-a',
    )
  })

  test('re-rendering replaces the folder wholly (no stale files)', async () => {
    const out = join(tempDir(), 'out')
    mkdirSync(out)
    writeFileSync(join(out, 'deployment-old.yaml'), 'stale')
    const r = await runActionBundle('render', {
      path: join(fixtures, 'apps', 'hello', 'base'),
      'output-dir': out,
      kustomize: kubectl,
    })
    expect(r.code).toBe(0)
    expect(existsSync(join(out, 'deployment-old.yaml'))).toBe(false)
  })

  describe('bad input: a clear error, a failed step, nothing written', () => {
    const cases: [string, (dir: string) => Record<string, string>, RegExp][] = [
      ['a missing folder', (d) => ({ path: join(d, 'nope') }), /path: .*nope is not a folder/],
      [
        'a folder without kustomization',
        (d) => ({ path: mkdirSync(join(d, 'empty'), { recursive: true })! }),
        /has no kustomization.yaml/,
      ],
      [
        'a kustomization kustomize rejects',
        () => ({ path: join(fixtures, 'apps', 'broken') }),
        /kustomize failed on .*broken:(%0A|\n)error: .*missing.yaml/,
      ],
      [
        'an invalid image spec',
        () => ({ path: join(fixtures, 'apps', 'hello', 'base'), images: 'nginx@sha256:xyz' }),
        /images: 'nginx@sha256:xyz' is not a valid image override/,
      ],
      [
        'a plaintext Secret',
        () => ({ path: join(fixtures, 'apps', 'with-secret') }),
        /Secret\/db-password is a plaintext Secret/,
      ],
      [
        'an output file inside the folder',
        (d) => ({
          path: join(fixtures, 'apps', 'hello', 'base'),
          'output-file': join(d, 'out', 'all.yaml'),
        }),
        /output-file .* is inside output-dir/,
      ],
      [
        'a kind that is a path (it would become a hidden file)',
        (d) => {
          const app = join(d, 'evil')
          mkdirSync(app)
          writeFileSync(join(app, 'kustomization.yaml'), 'resources: [evil.yaml]\n')
          writeFileSync(
            join(app, 'evil.yaml'),
            'apiVersion: v1\nkind: ../../Evil\nmetadata:\n  name: x\n',
          )
          return { path: app }
        },
        /kustomize output of .*evil: object "x" has an invalid kind "\.\.\/\.\.\/Evil"/,
      ],
      [
        'an output file that is not a manifest stream',
        (d) => {
          writeFileSync(join(d, 'notes.txt'), 'my notes\n')
          return {
            path: join(fixtures, 'apps', 'hello', 'base'),
            'output-file': join(d, 'notes.txt'),
          }
        },
        /output-file .*notes\.txt exists and is not a manifest file render wrote; point output-file elsewhere/,
      ],
      [
        'an output file that is a symlink',
        (d) => {
          writeFileSync(
            join(d, 'target.yaml'),
            '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n',
          )
          symlinkSync(join(d, 'target.yaml'), join(d, 'link.yaml'))
          return {
            path: join(fixtures, 'apps', 'hello', 'base'),
            'output-file': join(d, 'link.yaml'),
          }
        },
        /output-file .*link\.yaml is a symlink; point output-file elsewhere/,
      ],
      [
        'an output file that is a YAML file but not Kubernetes objects',
        (d) => {
          writeFileSync(join(d, 'values.yaml'), 'replicas: 3\nimage: x\n')
          return {
            path: join(fixtures, 'apps', 'hello', 'base'),
            'output-file': join(d, 'values.yaml'),
          }
        },
        /output-file .*values\.yaml exists and is not a manifest file render wrote/,
      ],
    ]
    test.each(cases)('%s', async (_name, inputs, message) => {
      const dir = tempDir()
      const out = join(dir, 'out')
      const r = await runActionBundle('render', {
        'output-dir': out,
        kustomize: kubectl,
        ...inputs(dir),
      })
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/::error::render: /)
      expect(r.stdout).toMatch(message)
      expect(r.stdout).not.toContain('hunter2')
      expect(existsSync(out)).toBe(false)
      expect(existsSync(`${out}.yaml`)).toBe(false)
      expect(r.outputs).toEqual({})
      // A file that was there is left as it was.
      for (const f of ['notes.txt', 'target.yaml', 'values.yaml']) {
        if (existsSync(join(dir, f)))
          expect(readFileSync(join(dir, f), 'utf8')).not.toContain('hello')
      }
    })

    test("an earlier render's output file is replaced", async () => {
      const dir = tempDir()
      const file = join(dir, 'all.yaml')
      const path = join(fixtures, 'apps', 'hello', 'base')
      const inputs = {
        path,
        'output-dir': join(dir, 'out'),
        'output-file': file,
        kustomize: kubectl,
      }
      expect((await runActionBundle('render', inputs)).code).toBe(0)
      const first = readFileSync(file, 'utf8')
      const again = await runActionBundle('render', {
        ...inputs,
        images: 'registry.example.com/team/hello:9.9.9',
      })
      expect(again.code).toBe(0)
      expect(readFileSync(file, 'utf8')).not.toBe(first)
      expect(readFileSync(file, 'utf8')).toContain('9.9.9')
    })

    test('an output dir that is a file', async () => {
      const dir = tempDir()
      writeFileSync(join(dir, 'out'), 'x')
      const r = await runActionBundle('render', {
        path: join(fixtures, 'apps', 'hello', 'base'),
        'output-dir': join(dir, 'out'),
        kustomize: kubectl,
      })
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/output-dir .*out exists and is not a folder/)
      expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('x')
    })

    test('a missing required input names it', async () => {
      const r = await runActionBundle('render', { 'output-dir': 'x' })
      expect(r.code).toBe(1)
      expect(r.stdout).toContain("::error::render: input 'path' is required")
    })
  })

  test('allow-secrets lets a Secret through', async () => {
    const out = join(tempDir(), 'out')
    const r = await runActionBundle('render', {
      path: join(fixtures, 'apps', 'with-secret'),
      'output-dir': out,
      kustomize: kubectl,
      'allow-secrets': 'true',
    })
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain('hunter2')
  })
})

/** A kustomization holding `resources` (file name → content), and naming `extra` resources too. */
function kustomization(files: Record<string, string>, extra: string[] = []): string {
  const dir = tempDir()
  const names = Object.keys(files)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    `resources:\n${[...names, ...extra].map((r) => `- ${r}\n`).join('')}`,
  )
  return dir
}

/** A billion-laughs document: 9 levels of 9 aliases, ~387 million strings once expanded. */
function aliasBomb(): string {
  const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: bomb', 'x:']
  lines.push('  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
  for (let i = 1; i <= 9; i++) {
    const prev = `*a${i - 1}`
    lines.push(`  a${i}: &a${i} [${Array(9).fill(prev).join(',')}]`)
  }
  lines.push('data:', '  boom: *a9')
  return `${lines.join('\n')}\n`
}

/** The processes whose command line names `needle` (kubectl/kustomize left behind). */
function processesNaming(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
  return out.split('\n').filter((l) => l.includes(needle) && !l.includes('ps -eo'))
}

describe('kustomize is bounded (kustomize-timeout, kustomize-memory-limit)', () => {
  test("an alias bomb fails quickly, with the memory error or kustomize's own, memory bounded", async () => {
    const app = kustomization({ 'bomb.yaml': aliasBomb() })
    const out = join(tempDir(), 'out')
    const started = Date.now()
    const r = await runActionBundle('render', {
      path: app,
      'output-dir': out,
      kustomize: kubectl,
      'kustomize-memory-limit': '300',
      'kustomize-timeout': '60',
    })
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      /kustomize build .* used more than 300 MiB of memory \(kustomize-memory-limit\); killed|kustomize failed on .*alias/,
    )
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(existsSync(out)).toBe(false)
    expect(processesNaming(app)).toEqual([])
  }, 60_000)

  test('a remote resource on a host that never answers fails within kustomize-timeout, leaving no kustomize', async () => {
    const sockets: Socket[] = []
    const server = createServer((s) => sockets.push(s))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    try {
      const app = kustomization({}, [`https://127.0.0.1:${port}/x.yaml`])
      const started = Date.now()
      const r = await runActionBundle('render', {
        path: app,
        'output-dir': join(tempDir(), 'out'),
        kustomize: kubectl,
        'kustomize-timeout': '3',
      })
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(
        /kustomize build .* did not finish within 3 s \(kustomize-timeout\); killed/,
      )
      expect(Date.now() - started).toBeLessThan(15_000)
      await new Promise((res) => setTimeout(res, 200))
      expect(processesNaming(app)).toEqual([])
    } finally {
      for (const s of sockets) s.destroy()
      server.close()
    }
  }, 60_000)

  test('a CLI render told to stop (SIGTERM) kills kustomize with it', async () => {
    const sockets: Socket[] = []
    const server = createServer((s) => sockets.push(s))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    try {
      const app = kustomization({}, [`https://127.0.0.1:${port}/x.yaml`])
      const cli = spawn(
        process.execPath,
        [dist('cli'), 'render', '--path', app, '--output-dir', join(tempDir(), 'out')],
        { env: { PATH: process.env.PATH, GITOPS_KUSTOMIZE: kubectl }, stdio: 'ignore' },
      )
      const exited = new Promise<number | null>((r) =>
        cli.on('close', (_c, sig) => r(sig ? 143 : _c)),
      )
      for (let i = 0; i < 100 && processesNaming(app).length === 0; i++)
        await new Promise((res) => setTimeout(res, 50))
      expect(processesNaming(app).length).toBeGreaterThan(0)
      const stopped = Date.now()
      cli.kill('SIGTERM')
      await exited
      expect(Date.now() - stopped).toBeLessThan(2000)
      await new Promise((res) => setTimeout(res, 200))
      expect(processesNaming(app)).toEqual([])
    } finally {
      for (const s of sockets) s.destroy()
      server.close()
    }
  }, 30_000)

  test('limits that are not numbers name the input', async () => {
    for (const [input, value] of [
      ['kustomize-timeout', 'soon'],
      ['kustomize-memory-limit', '0'],
    ]) {
      const r = await runActionBundle('render', {
        path: join(fixtures, 'apps', 'hello', 'base'),
        'output-dir': join(tempDir(), 'out'),
        kustomize: kubectl,
        [input]: value,
      })
      expect(r.code).toBe(1)
      expect(r.stdout).toContain(`input '${input}' must be`)
    }
  })
})

describe('root action (dist/main) dispatches on command', () => {
  test('command: render', async () => {
    const out = join(tempDir(), 'out')
    const r = await runActionBundle('main', {
      command: 'render',
      path: join(fixtures, 'apps', 'hello', 'base'),
      'output-dir': out,
      kustomize: kubectl,
    })
    expect(r.code).toBe(0)
    expect(r.outputs.objects).toBe('3')
  })
  test('an unknown command is named', async () => {
    const r = await runActionBundle('main', { command: 'deploy' })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain("input 'command' must be one of")
  })
})

describe('CLI (dist/cli/index.js)', () => {
  test('flags and GITOPS_* variables, key=value outputs and a dotenv file', async () => {
    const dir = tempDir()
    const r = await runCli(
      [
        'render',
        '--path',
        join(fixtures, 'apps', 'hello', 'overlays', 'staging'),
        '--images',
        'registry.example.com/team/hello:3',
        '--dotenv',
        join(dir, 'out.env'),
      ],
      {
        env: { GITOPS_OUTPUT_DIR: join(dir, 'out'), GITOPS_KUSTOMIZE: kubectl },
      },
    )
    expect(r.stderr).toContain('Rendered 4 objects')
    expect(r.code).toBe(0)
    expect(r.outputs['manifests-dir']).toBe(join(dir, 'out'))
    expect(readFileSync(join(dir, 'out.env'), 'utf8')).toBe(r.stdout)
    expect(
      (readObjects(join(dir, 'out', 'deployment-hello.yaml'))[0] as any).spec.template.spec
        .containers[0].image,
    ).toBe('registry.example.com/team/hello:3')
  })

  test('the action and the CLI give the same digest', async () => {
    const path = join(fixtures, 'apps', 'hello', 'overlays', 'staging')
    const a = await runActionBundle('render', {
      path,
      'output-dir': join(tempDir(), 'o'),
      kustomize: kubectl,
    })
    const b = await runCli([
      'render',
      '--path',
      path,
      '--output-dir',
      join(tempDir(), 'o'),
      '--kustomize',
      kubectl,
    ])
    expect(b.outputs.digest).toBe(a.outputs.digest)
  })

  test('--help lists the inputs; unknown flags and commands exit 2', async () => {
    const help = await runCli(['render', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('--output-dir')
    expect(help.stdout).toContain('GITOPS_OUTPUT_DIR')
    expect((await runCli(['render', '--bogus', 'x'])).code).toBe(2)
    expect((await runCli(['bogus'])).code).toBe(2)
    expect((await runCli(['--help'])).stdout).toContain('render')
  })

  test('errors go to stderr with the command name, exit 1', async () => {
    const r = await runCli(['render', '--path', '/nonexistent', '--kustomize', kubectl])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('gitops-actions render: path: /nonexistent is not a folder')
    expect(r.stdout).toBe('')
  })
})
