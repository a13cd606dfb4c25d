import { runAction } from '../github.js'
import { unpinCommand } from './command.js'

/** The `unpin` action. */
export async function run(): Promise<void> {
  await runAction(unpinCommand)
}
