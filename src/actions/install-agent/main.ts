import { installAgentCommand } from '../../commands/install-agent.js'
import { runAction } from '../github.js'

/** The `install-agent` action. */
export async function run(): Promise<void> {
  await runAction(installAgentCommand)
}
