// Lint, run by `npm test`: typescript-eslint's recommended rules, and the import rule that keeps the domain
// (src/contact-center/) free of the frameworks and of the layers around it.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', '.data/**', 'test-artifacts/**', 'tools/**', 'public/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['src/contact-center/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['express', 'express/*', 'mongoose', 'mongoose/*', 'mongodb', 'twilio', 'twilio/*'], message: 'The domain (src/contact-center/) knows no framework, database or Twilio library.' },
            { group: ['**/models/**', '**/models', '**/services/**', '**/services', '**/routes/**', '**/routes', '**/twilio/**', '**/auth/**', '**/db/**'], message: 'The domain (src/contact-center/) imports nothing from the layers around it.' },
          ],
        },
      ],
    },
  },
);
