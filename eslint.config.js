import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.stack/', '.demo/', '.bench/', '.artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The dashboard's page: a classic browser script, no build step (web/dashboard/).
    files: ['web/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        window: 'readonly',
        document: 'readonly',
        EventSource: 'readonly',
        requestAnimationFrame: 'readonly',
        uPlot: 'readonly',
      },
    },
  },
  {
    // The detection core is pure: no Kafka, no clock. The backtest runs it over history and reads no clock
    // either (the CLI reads it, at the edge).
    files: ['src/detect/**/*.ts', 'src/model/**/*.ts', 'src/backtest/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['kafkajs', '@kafkajs/*', '**/kafka/**', '**/app/**'] }],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'The core runs on event time; never read the clock.' },
        {
          object: 'performance',
          property: 'now',
          message: 'The core runs on event time; never read the clock.',
        },
      ],
    },
  },
);
