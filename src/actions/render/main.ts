import { runAction } from '../github.js'
import { renderCommand } from './command.js'

/** The `render` action. */
export async function run(): Promise<void> {
  await runAction(renderCommand)
}
