#!/usr/bin/env node
import { cleanUpOnStopSignals } from '../lib/process/cleanup.js'
import { main } from './main.js'

// Killed or interrupted, a run removes its clone and SSH key first.
cleanUpOnStopSignals()

process.exitCode = await main(process.argv.slice(2))
