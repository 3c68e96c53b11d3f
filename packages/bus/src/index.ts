export type {
  EventBus,
  OutgoingMessage,
  IncomingMessage,
  SubscribeOptions,
  BusSubscription,
  DeadLetterDelivery,
} from './event-bus.port';
export { MemoryBus } from './memory.adapter';
export type { MemoryBusOptions } from './memory.adapter';
export { PubSubBus } from './pubsub.adapter';
export type { PubSubBusOptions } from './pubsub.adapter';
export { busEnvShape, createBus } from './config';
export type { BusEnv } from './config';
