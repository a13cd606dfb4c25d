/**
 * The one way inputs are read, whatever the adapter: GitHub Actions (`core.getInput`), or the CLI (flags
 * and `GITOPS_*` environment variables). Each command's `getInputs()` reads through this, so the same
 * input gives the same value and the same error everywhere.
 */
import { ConfigurationError } from './errors.js'

/** Where raw input values come from, and how secrets are masked there. */
export interface InputSource {
  get(name: string): string | undefined
  mask(secret: string): void
}

export class Inputs {
  constructor(
    private readonly source: InputSource,
    private readonly defaults: Record<string, string | undefined> = {},
  ) {}

  private raw(name: string): string | undefined {
    const value = this.source.get(name)?.trim()
    if (value) return value
    const fallback = this.defaults[name]
    return fallback ? fallback : undefined
  }

  /** A value that must be given. */
  required(name: string): string {
    const value = this.raw(name)
    if (value === undefined) throw new ConfigurationError(`input '${name}' is required`)
    return value
  }

  /** A value, or undefined when empty. */
  optional(name: string): string | undefined {
    return this.raw(name)
  }

  /** A secret: masked in logs before anything else can print it. */
  secret(name: string): string | undefined {
    const value = this.raw(name)
    if (value !== undefined) {
      this.source.mask(value)
      // Multi-line secrets (keys) are masked line by line too, as runners print them that way.
      for (const line of value.split('\n')) {
        const part = line.trim()
        if (part.length > 8 && part !== value) this.source.mask(part)
      }
    }
    return value
  }

  /** `true`/`false` (YAML 1.2 core schema words, as `core.getBooleanInput` takes them). */
  boolean(name: string): boolean {
    const value = this.raw(name)
    if (value === undefined) return false
    if (['true', 'True', 'TRUE'].includes(value)) return true
    if (['false', 'False', 'FALSE'].includes(value)) return false
    throw new ConfigurationError(`input '${name}' must be true or false, got '${value}'`)
  }

  /** A list: one item a line, or comma-separated; blank items and `#` comments dropped. */
  list(name: string): string[] {
    const value = this.raw(name)
    if (value === undefined) return []
    return value
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter((s) => s !== '' && !s.startsWith('#'))
  }

  /** Words split on whitespace, for flags passed through to another program. */
  words(name: string): string[] {
    const value = this.raw(name)
    return value === undefined ? [] : value.split(/\s+/).filter((s) => s !== '')
  }

  /** One of a fixed set of values. */
  choice<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.raw(name)
    if (value === undefined) return undefined
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ConfigurationError(
        `input '${name}' must be one of ${allowed.join(', ')}, got '${value}'`,
      )
    }
    return value as T
  }
}
