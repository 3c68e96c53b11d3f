export { createQueryApp } from './app';
export type { QueryDeps } from './app';
export { CursorCodec } from './cursor';
export { queryConfigSchema, queryEnvShape, streamOptionsOf } from './config';
export type { QueryConfig } from './config';
export { queryApiDocument } from './openapi';
export type { StreamOptions } from './stream';
