/**
 * Workloads and invariant checkers for multi-process tests (migration, chaos): a bank of
 * `account` actors (invariants 1 and 2: nothing acknowledged is lost, nothing applied twice)
 * and per-sender sequences on `sequencer` actors (invariant 3: order per sender, and in-memory
 * state carried across a move). Everything goes through the ingress, as an outside client would.
 *
 * Each workload records every attempt with the phase the test had marked when the attempt's
 * outcome was known, so a test can say "no ask failed during the join" and mean it.
 *
 * The parts, in workload/: traffic.ts (sender loops, retries, phases), bank.ts and sequencer.ts
 * (the two workloads and their checks), history.ts (outages and failures over a history) and
 * journal.ts (an actor's journal read from JetStream, and checked against the bank's history).
 */
export { type AccountCheck, type BankCheck, type BankOptions, type BankRequest, type BankResult, checkBank, readBalances, runBank } from "./workload/bank.js";
export { failures, longestOutage, type Outage } from "./workload/history.js";
export { checkAccountJournal, type JournalCheck, type JournalEntry, readJournal, tapJournalWrites, type WriteAttempt, writerOf } from "./workload/journal.js";
export { runSequencer, type SequenceMismatch, type SequencerOptions, type SequencerRequest, type SequencerResult } from "./workload/sequencer.js";
export { type Attempt, type LiveSummary, ownerOf, Phases, type Run } from "./workload/traffic.js";
