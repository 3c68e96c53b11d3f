export { createPublisherApp } from './app';
export type { PublisherDeps } from './app';
export { publisherConfigSchema, publisherEnvShape } from './config';
export type { PublisherConfig } from './config';
export { publisherApiDocument } from './openapi';
export { acceptedLogOf } from './accepted-log';
export type { AcceptedLog, AcceptedRecord } from './accepted-log';
