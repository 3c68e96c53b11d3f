export { Worker } from './worker';
export type { WorkerDeps, WorkerEvents, StoreRetry } from './worker';
export { Batch, Batcher } from './batcher';
export type { BatchOptions } from './batcher';
export { workerConfigSchema, workerEnvShape, workerOptions } from './config';
export type { WorkerConfig } from './config';
export { LifecycleRunner, lifecycleOptions } from './lifecycle';
export type { LifecycleOptions } from './lifecycle';
