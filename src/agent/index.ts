#!/usr/bin/env node
import { stopChildren } from '../lib/process/run.js'
import { main } from './main.js'

const controller = new AbortController()
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.on(sig, () => {
    controller.abort()
    // Children (a kustomize build, a git fetch) are killed at once, with what they started: the agent
    // then ends its cycle and exits instead of waiting for them.
    stopChildren()
  })
process.exitCode = await main(process.argv.slice(2), process.env, controller.signal)
