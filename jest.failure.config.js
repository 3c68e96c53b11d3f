// The failure suite (npm run test:failure): real processes crashed, stores and the emulator
// taken down, a bounded load run. Slower than npm test, so it runs on its own, one file at a time.
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['**/test/failure/**/*.failure.test.ts'],
  testTimeout: 240_000,
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
};
