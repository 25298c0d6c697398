/**
 * Shoal: a distributed actor cluster for TypeScript on NATS.
 *
 * This module is what an application needs to define actors and call them: {@link defineActor},
 * {@link defineInMemoryActor} and {@link defineSingleton}, typed references ({@link ActorRef}: `ask`, `send`, `tell`),
 * ordered topics ({@link defineTopic}),
 * the {@link ShoalClient} that calls a cluster without joining it, and the typed errors. Run
 * nodes with `shoal/node` (or the `shoal node` command); test with `shoal/testing`.
 *
 * @module shoal
 */
export { defineActor, defineInMemoryActor } from "./actor/define.js";
export { defineSingleton, type Singleton } from "./actor/singleton.js";
export { fromSchema } from "./actor/schema.js";
export { actorType, type ActorType, type Call, type CallsOf, type MessageOf, type ReplyFor, type ReplyOf } from "./actor/calls.js";
export type {
  ActorContext,
  ActorDefinition,
  CommonSpec,
  Decision,
  EventSourcedActor,
  EventSourcedCommon,
  EventSourcedHandler,
  EventSourcedMapSpec,
  EventSourcedSpec,
  HandlerReply,
  InMemoryActor,
  InMemoryCommon,
  InMemoryHandler,
  InMemoryMapSpec,
  InMemorySpec,
  Lifecycle,
  MailboxOverflow,
  MapCalls,
  MapMessage,
  PayloadMessage,
  PayloadOf,
  Reminders,
  SnapshotPolicy,
  TimerDelay,
  Timers,
  Transition,
  TurnContext,
  TurnRef,
  Validate,
} from "./actor/spec.js";
export { MAX_ACTOR_ID_BYTES } from "./actor/names.js";
export type { ReminderWhen } from "./reminders/schedule.js";
export type { ReminderInfo } from "./reminders/service.js";
export type { ActorRef, CallOptions, OnFull, RefFactory, RefId, TellOptions } from "./ref.js";
export { ShoalClient, type ShoalClientOptions } from "./client.js";
export type { Verb } from "./codec/envelope.js";
export {
  ActorMovedError,
  BadRequestError,
  ConflictError,
  ErrorCode,
  InternalError,
  OutOfOrderError,
  CallCycleError,
  OverloadedError,
  RejectedError,
  ShoalError,
  type ShoalErrorOptions,
  TimeoutError,
  UnavailableError,
  UnknownActorTypeError,
  type WireError,
} from "./errors.js";
export { defineTopic, type TopicSpec } from "./topics/define.js";
export type { DeliveryAs, DeliveryName, Subscriber, TopicDefinition, TopicMessage, Topics, TurnTopics } from "./topics/types.js";
export { TOPIC_BROKER, TOPIC_LIMITS } from "./topics/protocol.js";
export { defineProjection } from "./projection/define.js";
export type {
  FailureAction,
  FailurePolicy,
  PartitionBy,
  Partitioning,
  ProjectedEvent,
  ProjectionContext,
  ProjectionDefinition,
  ProjectionSource,
  ProjectionSpec,
  ViewWriter,
} from "./projection/spec.js";
export { ProjectionView, type ViewEntry } from "./projection/view-reader.js";
export type { BuildInfo, Checkpoint, DeadLetter, ProjectionMeta } from "./projection/layout.js";
export { tenantOf } from "./projection/partition.js";
