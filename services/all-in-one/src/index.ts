export { createStack } from './app';
export type { Stack, StackDeps } from './app';
export { stackConfigSchema } from './config';
export { configurationDoc, CONFIGURATION_MD } from './config-doc';
