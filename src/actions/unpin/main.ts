import { unpinCommand } from '../../commands/unpin.js'
import { runAction } from '../github.js'

/** The `unpin` action. */
export async function run(): Promise<void> {
  await runAction(unpinCommand)
}
