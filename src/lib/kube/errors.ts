/**
 * A failed API call: `code` is the HTTP status (0 when the server could not be reached). An exec plugin
 * killed by the process runner's limits is its `cause` (see `limitOf`).
 */
export class KubeError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly reason?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'KubeError'
  }
}
