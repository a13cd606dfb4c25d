/**
 * The one logger interface. Library code logs through it; each adapter (GitHub Actions, CLI, agent)
 * supplies its own implementation, so nothing under `lib/` knows where the lines go.
 */
export interface Logger {
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

/** A logger that drops everything: for callers that want only the result. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
}

/** A logger that writes plain lines to stderr (the CLI and tests); debug only when asked. */
export function consoleLogger(options: { debug?: boolean } = {}): Logger {
  const write = (prefix: string, message: string): void => {
    process.stderr.write(`${prefix}${message}\n`)
  }
  return {
    debug: (m) => {
      if (options.debug) write('debug: ', m)
    },
    info: (m) => write('', m),
    warn: (m) => write('warning: ', m),
    error: (m) => write('error: ', m),
  }
}
