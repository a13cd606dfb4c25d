/** Fault injection per route: latency, error answers and dropped connections, for some or all requests. */

export interface FaultRule {
  /** Only this HTTP method (any case); all methods if unset. */
  method?: string
  /** Only requests whose path and query (e.g. `/apis/apps/v1/namespaces/x/deployments/y?fieldManager=…`) match. */
  path?: RegExp
  /** Delay before the request is handled (or failed, or dropped). */
  latencyMs?: number
  /** Share (0..1) of matching requests answered with an error Status instead of being handled. */
  errorRate?: number
  /**
   * The error's HTTP code: 500 (InternalError, default), 503 (ServiceUnavailable), 429 (TooManyRequests)
   * or 403 (Forbidden, worded as RBAC's authorizer words it: `… is forbidden: User "…" cannot patch
   * resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope`).
   */
  errorCode?: 500 | 503 | 429 | 403
  /**
   * Share (0..1) of matching requests dropped without an answer: the connection is destroyed (HTTP/1.1)
   * or the request's stream reset (HTTP/2, whose connection carries others).
   */
  dropRate?: number
  /** The rule applies to this many matching requests, then retires (forever if unset). */
  times?: number
}

/** What to do to one request. */
export interface FaultDecision {
  latencyMs: number
  /** Answer this HTTP code instead of handling the request. */
  errorCode?: number
  /** Drop the request: its connection destroyed (HTTP/1.1) or its stream reset (HTTP/2). */
  drop: boolean
}

/** The rules in force; `add` them in a test, `clear` them after. */
export class Faults {
  private rules: { rule: FaultRule; left: number }[] = []

  /** `random` decides the rates (pass a seeded one for repeatable runs). */
  constructor(private readonly random: () => number = Math.random) {}

  /** Adds a rule (rules are checked in order; all matching ones apply). Returns a remover. */
  add(rule: FaultRule): () => void {
    const entry = { rule, left: rule.times ?? Infinity }
    this.rules.push(entry)
    return () => {
      this.rules = this.rules.filter((r) => r !== entry)
    }
  }

  clear(): void {
    this.rules = []
  }

  /** Decides the faults for one request, or undefined when none applies. */
  decide(method: string, url: string): FaultDecision | undefined {
    let decision: FaultDecision | undefined
    for (const entry of this.rules) {
      const { rule } = entry
      if (entry.left <= 0) continue
      if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) continue
      if (rule.path && !rule.path.test(url)) continue
      entry.left--
      decision ??= { latencyMs: 0, drop: false }
      decision.latencyMs += rule.latencyMs ?? 0
      if (!decision.drop && decision.errorCode === undefined) {
        if (rule.dropRate && this.random() < rule.dropRate) decision.drop = true
        else if (rule.errorRate && this.random() < rule.errorRate)
          decision.errorCode = rule.errorCode ?? 500
      }
    }
    this.rules = this.rules.filter((r) => r.left > 0)
    return decision
  }
}
