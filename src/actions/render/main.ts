import { renderCommand } from '../../commands/render.js'
import { runAction } from '../github.js'

/** The `render` action. */
export async function run(): Promise<void> {
  await runAction(renderCommand)
}
