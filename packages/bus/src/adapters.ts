// @eventpipe/bus/adapters: the bus adapters and the factory that picks one. Only main.ts files,
// the one-process launcher, tests and benchmarks import this entry (a lint rule keeps it so).
export { MemoryBus } from './memory.adapter';
export type { MemoryBusOptions } from './memory.adapter';
export { PubSubBus } from './pubsub.adapter';
export type { PubSubBusOptions } from './pubsub.adapter';
export { createBus } from './factory';
