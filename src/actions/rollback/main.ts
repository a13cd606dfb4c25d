import { runAction } from '../github.js'
import { rollbackCommand } from './command.js'

/** The `rollback` action. */
export async function run(): Promise<void> {
  await runAction(rollbackCommand)
}
