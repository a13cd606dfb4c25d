import { readResources } from '../../src/commands/install-agent.js'
import { Inputs } from '../../src/lib/inputs.js'

const inputs = (resources: string | undefined) =>
  new Inputs({ get: (n) => (n === 'resources' ? resources : undefined), mask: () => {} })

test('resources: pairs on lines or after commas, merged per kind', () => {
  expect(
    readResources(inputs('requests.cpu=50m, requests.memory=64Mi\nlimits.memory=256Mi')),
  ).toEqual({
    requests: { cpu: '50m', memory: '64Mi' },
    limits: { memory: '256Mi' },
  })
})

test('resources: none given leaves the base as it is', () => {
  expect(readResources(inputs(undefined))).toBeUndefined()
  expect(readResources(inputs('  '))).toBeUndefined()
})

test('resources: anything but requests/limits of cpu/memory is refused, naming the pair', () => {
  expect(() => readResources(inputs('requests.cpu=50m, limits.gpu=1'))).toThrow(
    "input 'resources': 'limits.gpu=1' is not requests.cpu|memory=VALUE or limits.cpu|memory=VALUE",
  )
  expect(() => readResources(inputs('cpu=1'))).toThrow(/'cpu=1' is not requests/)
})
