import { Backoff } from '../../src/lib/backoff.js'

describe('Backoff', () => {
  it('doubles its bound from the base up to the cap, and starts over after reset', () => {
    const top = new Backoff({ baseMs: 500, capMs: 4000, jitter: 'equal', random: () => 1 })
    expect([1, 2, 3, 4, 5].map(() => top.next())).toEqual([500, 1000, 2000, 4000, 4000])
    top.reset()
    expect(top.next()).toBe(500)
  })

  it('full jitter waits anywhere below the bound; equal jitter at least half of it', () => {
    const full = new Backoff({ baseMs: 1000, capMs: 30_000, jitter: 'full', random: () => 0 })
    const equal = new Backoff({ baseMs: 1000, capMs: 30_000, jitter: 'equal', random: () => 0 })
    expect(full.next()).toBe(0)
    expect(equal.next()).toBe(500)
    expect(equal.next()).toBe(1000)
  })
})
