export { replayDeadLetters, progressLine } from './app';
export type { ReplayOptions, ReplayProgress, ReplaySummary } from './app';
export { replayConfigSchema } from './config';
