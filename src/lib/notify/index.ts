/** Telling people and git hosts what happened: chat webhooks and commit statuses. */
export {
  parseWebhooks,
  postToWebhooks,
  type ChatMessage,
  type Webhook,
  type WebhookKind,
} from './chat.js'
export { sendCommitStatuses, type StatusTarget } from './statuses.js'
