/** What every chaos scenario takes and gives back. */

/** How a scenario is run. */
export interface ScenarioContext {
  /** The CI subset: shorter faults and less load (e.g. a 6 s cut instead of 30 s). */
  fast: boolean;
  /** Progress lines, for people watching a run. */
  log(line: string): void;
}

/** The outcome of one run of one scenario. The four counters must be 0. */
export interface ScenarioResult {
  /** Acknowledged requests whose effect is not in the event store (or the final state). */
  lost: number;
  /** Requests applied more than once (txns repeated in a journal, or more money than was sent). */
  duplicated: number;
  /** Messages of one sender to one actor that the journal holds out of the order sent. */
  orderViolations: number;
  /** The longest time in which no request of the workload succeeded, ms. */
  longestUnavailableMs: number;
  /** The scenario's own checks that failed (e.g. "2 leaders", "the node never rejoined"); [] when all held. */
  failedChecks: string[];
  /** Everything else worth seeing in the JSON line: counts, failures by code, timings. */
  notes: Record<string, unknown>;
}

/** One scenario: a name for `--only` and the table, whether the CI subset runs it, and its body. */
export interface Scenario {
  name: string;
  describe: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
