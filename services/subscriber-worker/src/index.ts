export { Worker, createWorker } from './app';
export type { WorkerDeps, WorkerEvents, StoreRetry } from './app';
export { Batch, Batcher } from './batcher';
export type { BatchOptions } from './batcher';
export { workerConfigSchema, workerEnvShape, workerOptions } from './config';
export type { WorkerConfig } from './config';
