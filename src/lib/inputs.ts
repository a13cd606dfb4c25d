/**
 * The one way inputs are read, whatever the adapter: GitHub Actions (`core.getInput`), or the CLI (flags
 * and `GITOPS_*` environment variables). Each command's `getInputs()` reads through this, so the same
 * input gives the same value and the same error everywhere.
 */
import { readFileSync } from 'node:fs'
import { booleanWord } from './args.js'
import { ConfigurationError } from './errors.js'

// Control characters (C0, DEL, C1). A one-line value (a name, a version, a path) has none: a newline in
// a version ends up in commit trailers and outputs. Text (lists, keys, messages) may hold line breaks
// and tabs, nothing else.
const ANY_CONTROL = /\p{Cc}/u
const CONTROL_BUT_LINE_BREAKS = /(?![\n\r\t])\p{Cc}/u

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

  /** The trimmed value or default; `text` allows line breaks and tabs, else one line only. */
  private raw(name: string, text = false): string | undefined {
    const value = this.source.get(name)?.trim() || this.defaults[name] || undefined
    if (value === undefined) return undefined
    // The value is never quoted: it may be a secret, and its bytes would garble the log.
    if (!text && ANY_CONTROL.test(value)) {
      throw new ConfigurationError(
        `input '${name}' holds a control character (a line break, tab or other); it must be one line`,
      )
    }
    if (text && CONTROL_BUT_LINE_BREAKS.test(value)) {
      throw new ConfigurationError(
        `input '${name}' holds a control character; only line breaks and tabs are allowed`,
      )
    }
    return value
  }

  /** Masks a secret made during the run (a generated key), as a secret input is masked. */
  mask(value: string): void {
    this.source.mask(value)
    // Multi-line secrets (keys) are masked line by line too, as runners print them that way.
    for (const line of value.split(/\r?\n/)) {
      const part = line.trim()
      if (part.length > 8 && part !== value) this.source.mask(part)
    }
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

  /** Free text that may span lines (a commit message, known_hosts lines), or undefined when empty. */
  text(name: string): string | undefined {
    return this.raw(name, true)
  }

  /** A secret: masked in logs before anything else can print it. */
  secret(name: string): string | undefined {
    const value = this.raw(name, true)
    if (value !== undefined) this.mask(value)
    return value
  }

  /**
   * A secret read from the file the input names (`ssh-key-file`), masked like `secret`. An unreadable
   * file is an error naming the input and the path, never the content.
   */
  secretFile(name: string): string | undefined {
    const path = this.raw(name)
    if (path === undefined) return undefined
    let content: string
    try {
      content = readFileSync(path, 'utf8').trim()
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
      throw new ConfigurationError(`input ${name} ${path} cannot be read (${code})`)
    }
    if (content === '') throw new ConfigurationError(`input ${name} ${path} is empty`)
    if (CONTROL_BUT_LINE_BREAKS.test(content)) {
      throw new ConfigurationError(
        `input ${name} ${path} holds control characters; it must be a text file`,
      )
    }
    this.mask(content)
    return content
  }

  /** `true`/`false` (YAML 1.2 core schema words, as `core.getBooleanInput` takes them). */
  boolean(name: string): boolean {
    const value = this.raw(name)
    if (value === undefined) return false
    const word = booleanWord(value)
    if (word !== undefined) return word
    // The value is not quoted back: a token pasted into the wrong input would be printed.
    throw new ConfigurationError(`input '${name}' must be true or false`)
  }

  /** A list: one item a line, or comma-separated; blank items and `#` comments dropped. */
  list(name: string): string[] {
    const value = this.raw(name, true)
    if (value === undefined) return []
    return value
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter((s) => s !== '' && !s.startsWith('#'))
  }

  /** Words split on whitespace, for flags passed through to another program. */
  words(name: string): string[] {
    const value = this.raw(name, true)
    return value === undefined ? [] : value.split(/\s+/).filter((s) => s !== '')
  }

  /** One of a fixed set of values. */
  choice<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.raw(name)
    if (value === undefined) return undefined
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ConfigurationError(`input '${name}' must be one of ${allowed.join(', ')}`)
    }
    return value as T
  }
}
