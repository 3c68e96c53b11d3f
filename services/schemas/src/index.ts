export { bodyOfFile, typeName, typesSource, applyDir, putFile } from './app';
export { schemasCliConfigSchema } from './config';
