// One jest run for every workspace. TypeScript is transpiled per file (isolatedModules), so tests
// start fast; `npm run typecheck` does the type checking. Workspace imports resolve to src/.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/services', '<rootDir>/test'],
  testMatch: ['**/test/**/*.test.ts'],
  // The failure suite runs on its own: npm run test:failure (jest.failure.config.js).
  testPathIgnorePatterns: ['/node_modules/', '\\.failure\\.test\\.ts$'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.typecheck.json' }] },
  moduleNameMapper: {
    '^@eventpipe/schema/json$': '<rootDir>/packages/schema/src/json-text.ts',
    '^@eventpipe/(bus|store|platform)/(adapters|core)$': '<rootDir>/packages/$1/src/$2.ts',
    '^@eventpipe/(schema|platform|bus|store|testing|client|registry)$':
      '<rootDir>/packages/$1/src/index.ts',
    '^@eventpipe/(publisher-api|subscriber-worker|query-api|all-in-one|replay|audit)$':
      '<rootDir>/services/$1/src/index.ts',
    '^@eventpipe/schemas-cli$': '<rootDir>/services/schemas/src/index.ts',
  },
  globalSetup: '<rootDir>/packages/testing/jest/global-setup.ts',
  globalTeardown: '<rootDir>/packages/testing/jest/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
