// Flat config: typescript-eslint's recommended rules (syntactic, so lint stays fast on 2 cores;
// type-aware checking is `npm run typecheck`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Only main.ts reads process.env (docs/ARCHITECTURE.md, "Boundaries").',
        },
      ],
      // Adapters (and the SDKs they load) come in through composition roots only.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@eventpipe/bus/adapters', '@eventpipe/store/adapters'],
              message:
                'Adapters load only in main.ts files and the one-process launcher; import the port (@eventpipe/bus, @eventpipe/store) and take adapters as arguments.',
            },
            {
              group: ['@eventpipe/*/src/*', '@eventpipe/*/dist/*'],
              message: "Import a package through its entries ('.', './adapters'), not its files.",
            },
          ],
        },
      ],
    },
  },
  {
    // No service imports another; the one-process launcher composes them.
    files: ['services/*/src/**'],
    ignores: ['services/all-in-one/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@eventpipe/bus/adapters', '@eventpipe/store/adapters'],
              message:
                'Adapters load only in main.ts files and the one-process launcher; import the port (@eventpipe/bus, @eventpipe/store) and take adapters as arguments.',
            },
            {
              group: [
                '@eventpipe/publisher-api',
                '@eventpipe/subscriber-worker',
                '@eventpipe/query-api',
                '@eventpipe/replay',
                '@eventpipe/audit',
                '@eventpipe/all-in-one',
              ],
              message:
                'A service does not import another service: move what both need into a package.',
            },
          ],
        },
      ],
    },
  },
  {
    // Composition roots and everything outside the shipped code.
    files: [
      '**/main.ts',
      '**/test/**',
      'test/**',
      'packages/testing/**',
      'jest.*',
      '**/*.mjs',
      '**/*.cjs',
      'bench/**',
      'scripts/**',
    ],
    rules: { 'no-restricted-syntax': 'off', 'no-restricted-imports': 'off' },
  },
  {
    // Pages a service serves to browsers (the query API's /explorer): plain scripts.
    files: ['services/*/explorer/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser } },
  },
  {
    // CommonJS config files (jest) load each other with require().
    files: ['*.config.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
