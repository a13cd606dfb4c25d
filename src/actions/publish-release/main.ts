import { runAction } from '../github.js'
import { publishReleaseCommand } from './command.js'

/** The `publish-release` action. */
export async function run(): Promise<void> {
  await runAction(publishReleaseCommand)
}
