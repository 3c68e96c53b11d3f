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
          message: 'Only main.ts / config.ts read process.env (see CONVENTIONS.md).',
        },
      ],
    },
  },
  {
    files: [
      '**/main.ts',
      '**/config.ts',
      '**/test/**',
      'packages/testing/**',
      'jest.*',
      '**/*.mjs',
      '**/*.cjs',
      'bench/**',
      'scripts/**',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // CommonJS config files (jest) load each other with require().
    files: ['*.config.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
