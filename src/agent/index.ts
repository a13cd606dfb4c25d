#!/usr/bin/env node
import { main } from './main.js'

const controller = new AbortController()
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => controller.abort())
process.exitCode = await main(process.argv.slice(2), process.env, controller.signal)
