import { rollbackCommand } from '../../commands/rollback.js'
import { runAction } from '../github.js'

/** The `rollback` action. */
export async function run(): Promise<void> {
  await runAction(rollbackCommand)
}
