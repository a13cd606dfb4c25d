/**
 * A mistake in what the user gave (an input, a file, a remote): reported as a plain message, without a
 * stack trace, and kept apart from bugs in this tool.
 */
export class ConfigurationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ConfigurationError'
  }
}

/** The message of anything thrown, for logs and `setFailed`. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
