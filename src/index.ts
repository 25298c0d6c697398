/** Shoal's public API: define actors, run them, talk to them. */
export { defineActor, defineInMemoryActor } from "./actor/define.js";
export type {
  ActorDefinition,
  Decision,
  EventSourcedActor,
  EventSourcedSpec,
  InMemoryActor,
  InMemorySpec,
  MessageOf,
  ReplyOf,
  Transition,
  TurnContext,
} from "./actor/define.js";
export { checkActorId, MAX_ACTOR_ID_BYTES } from "./actor/names.js";
export { account } from "./actors/account.js";
export type { AccountMsg, AccountReply, AccountEvent } from "./actors/account.js";
export { sequencer } from "./actors/sequencer.js";
export type { SequencerMsg, SequencerReply, SequencerReport, SequencerStepReply, SequencerViolation } from "./actors/sequencer.js";
export * from "./errors.js";
export { type Clock, ManualClock, systemClock } from "./clock.js";
export { MsgpackCodec } from "./codec/msgpack.js";
export { decodeJson, encodeJson } from "./codec/json.js";
export { defaultDecodeLimits, type DecodeLimits } from "./codec/limits.js";
export type { Envelope, RequestEnvelope, ResponseEnvelope } from "./codec/envelope.js";
export { encodeToken } from "./codec/token.js";
export { Runtime, type AskOptions, type RuntimeOptions } from "./runtime/runtime.js";
export type { CapturedActor, PausedGroup } from "./runtime/pause.js";
export type { ActorKey, EventStore, LoadedJournal, Snapshot, StoredEvent } from "./store/types.js";
export { MemoryEventStore } from "./store/memory.js";
export { JetStreamEventStore } from "./store/jetstream.js";
export { Ingress, type Asker } from "./ingress/ingress.js";
export { clusterSubjects } from "./nats-names.js";
export { ActorHost, type HostOptions } from "./host.js";
export { createLogger, type Logger } from "./log.js";
