import { getEventListeners } from 'node:events'
import { Limiter, mapLimit, sleep } from '../../src/lib/concurrency.js'

test('sleep leaves no listener on the signal behind, and ends early when it aborts', async () => {
  const controller = new AbortController()
  for (let i = 0; i < 20; i++) await sleep(1, controller.signal)
  expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)

  const started = Date.now()
  const long = sleep(60_000, controller.signal)
  controller.abort()
  await long
  // A signal that has already fired ends it at once too (a stop asked for during a cycle).
  await sleep(60_000, controller.signal)
  expect(Date.now() - started).toBeLessThan(1000)
})

test('a limiter never runs more than its limit at once, and every task runs', async () => {
  const limiter = new Limiter(3)
  let running = 0
  let most = 0
  const done = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      limiter.run(async () => {
        running++
        most = Math.max(most, running)
        await sleep(i % 3)
        running--
        return i
      }),
    ),
  )
  expect(most).toBe(3)
  expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i))
})

test('mapLimit keeps the input order', async () => {
  const out = await mapLimit([30, 10, 20], 2, async (ms, i) => {
    await sleep(ms)
    return i
  })
  expect(out).toEqual([0, 1, 2])
})
