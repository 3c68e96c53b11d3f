export { createQueryApp } from './app';
export type { QueryDeps } from './app';
export { CursorCodec } from './cursor';
export { queryConfigSchema, queryEnvShape } from './config';
export type { QueryConfig } from './config';
export { queryApiDocument } from './openapi';
