import { parseImageOverride } from '../../src/lib/kustomize/kustomize.js'

const digest = 'sha256:' + 'a'.repeat(64)

test.each([
  ['nginx:1.27', { name: 'nginx', newTag: '1.27' }],
  ['ghcr.io/org/app:v1.2.3', { name: 'ghcr.io/org/app', newTag: 'v1.2.3' }],
  ['localhost:5000/app:2', { name: 'localhost:5000/app', newTag: '2' }],
  [`app@${digest}`, { name: 'app', digest }],
  [
    'app=registry.example.com/team/app:3',
    { name: 'app', newName: 'registry.example.com/team/app', newTag: '3' },
  ],
  [`app=mirror/app@${digest}`, { name: 'app', newName: 'mirror/app', digest }],
  ['app=mirror/app', { name: 'app', newName: 'mirror/app' }],
  ['app=app:4', { name: 'app', newTag: '4' }],
])('%s', (spec, expected) => {
  expect(parseImageOverride(spec)).toEqual(expected)
})

test.each([
  ['nginx', /give a tag or a digest/],
  ['nginx@sha256:abc', /the digest must be sha256: and 64 hex digits/],
  ['nginx:bad tag', /is not a valid tag/],
  ['UPPER CASE=x:1', /is not an image name/],
  ['=x:1', /is not an image name/],
])('refuses %s', (spec, message) => {
  expect(() => parseImageOverride(spec)).toThrow(message)
  expect(() => parseImageOverride(spec)).toThrow(/^images: /)
})
