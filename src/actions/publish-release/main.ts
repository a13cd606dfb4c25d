import { publishReleaseCommand } from '../../commands/publish-release.js'
import { runAction } from '../github.js'

/** The `publish-release` action. */
export async function run(): Promise<void> {
  await runAction(publishReleaseCommand)
}
