import { redactUrl, splitUrlCredentials } from '../../src/lib/git/remote.js'

describe('redactUrl', () => {
  test.each([
    ['http://me@corp.com:TOK@127.0.0.1/x.git', 'http://127.0.0.1/x.git'],
    ['https://user:p@ss@host:8443/g/p.git', 'https://host:8443/g/p.git'],
    [
      'https://gitlab-ci-token:TOK@gitlab.example.com/g/p.git',
      'https://gitlab.example.com/g/p.git',
    ],
    ['ssh://git:secret@a@host:22/repo.git', 'ssh://host:22/repo.git'],
    // An SSH user name alone is no secret: shown as git shows it.
    ['ssh://root@127.0.0.1:2222/repo.git', 'ssh://root@127.0.0.1:2222/repo.git'],
    ['HTTPS://tok@host/x', 'HTTPS://host/x'],
    // An `@` after the host is part of the path, not user info.
    ['https://host/a@b/x.git', 'https://host/a@b/x.git'],
    ['https://host/x.git?ref=a@b', 'https://host/x.git?ref=a@b'],
    ['git@github.com:acme/gitops.git', 'git@github.com:acme/gitops.git'],
    ['file:///tmp/x.git', 'file:///tmp/x.git'],
  ])('%s → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown)
  })
})

describe('splitUrlCredentials', () => {
  test('user and token (URL-encoded) are taken out of an http(s) URL', () => {
    expect(splitUrlCredentials('https://me%40corp.com:T%3AOK@host/x.git')).toEqual({
      url: 'https://host/x.git',
      user: 'me@corp.com',
      password: 'T:OK',
    })
  })
  test('a token as the user name', () => {
    expect(splitUrlCredentials('http://TOK@127.0.0.1:80/x.git')).toEqual({
      url: 'http://127.0.0.1:80/x.git',
      user: 'TOK',
      password: undefined,
    })
  })
  test('other URLs are left as they are', () => {
    for (const url of [
      'https://host/a@b.git',
      'ssh://git@host/x.git',
      'git@host:x.git',
      '/tmp/x.git',
    ])
      expect(splitUrlCredentials(url)).toEqual({ url })
  })
})
