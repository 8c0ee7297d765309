// `npm run lint`: eslint with typescript-eslint's recommended rules over the TypeScript sources,
// then prettier --check. Unused code is an error: it is how dead code is found.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Fixtures are target programs written to be profiled (busy loops, sinks never read), not our code.
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.cache/', 'bench/out/', 'fixtures/', 'bench/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // CDP answers are loosely typed at the session boundary (see src/target/session.ts).
      '@typescript-eslint/no-explicit-any': 'off',
      // Matching control bytes is deliberate: they are what gets escaped before a terminal.
      'no-control-regex': 'off',
      // Errors are rephrased as one line for the user on purpose; `cause` is kept where --verbose needs it.
      'preserve-caught-error': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    // Plain Node scripts: TypeScript checks undefined names in the sources; here Node's globals are assumed.
    rules: { 'no-undef': 'off' },
  },
);
