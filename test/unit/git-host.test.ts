import { defaultApiUrl, gitHostOf, projectOf } from '../../src/lib/git-host/index.js'

test('the host and its API, from the remote URL', () => {
  expect(gitHostOf('git@gitlab.example.com:team/apps.git')).toBe('gitlab')
  expect(gitHostOf('https://github.com/acme/gitops.git')).toBe('github')
  expect(gitHostOf('file:///tmp/gitops.git')).toBe('github')
  expect(defaultApiUrl('gitlab', 'https://gitlab.example.com/team/apps.git')).toBe(
    'https://gitlab.example.com/api/v4',
  )
  expect(defaultApiUrl('github', 'git@github.com:acme/gitops.git')).toBe('https://api.github.com')
  expect(defaultApiUrl('github', 'https://ghe.example.com/acme/gitops.git')).toBe(
    'https://ghe.example.com/api/v3',
  )
  expect(defaultApiUrl('github', '/tmp/gitops.git')).toBe('https://api.github.com')
})

test('the project of a repository URL or owner/name', () => {
  expect(projectOf('acme/gitops')).toBe('acme/gitops')
  expect(projectOf('https://gitlab.com/group/sub/apps.git')).toBe('group/sub/apps')
  expect(projectOf('git@github.com:acme/gitops.git')).toBe('acme/gitops')
  expect(() => projectOf('gitops')).toThrow(/cannot tell the project/)
})
