/** A failed API call: `code` is the HTTP status (0 when the server could not be reached). */
export class KubeError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly reason?: string,
  ) {
    super(message)
    this.name = 'KubeError'
  }
}
