// @eventpipe/bus: the port. Interfaces, types and the variables' shape; no SDK. The adapters
// (Pub/Sub, in-process) are behind '@eventpipe/bus/adapters', for composition roots only.
export type {
  BusRole,
  EventBus,
  OutgoingMessage,
  IncomingMessage,
  SubscribeOptions,
  BusSubscription,
  DeadLetterDelivery,
} from './event-bus.port';
export { busEnvShape } from './config';
export type { BusEnv } from './config';
