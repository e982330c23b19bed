/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/setup-polyfills.js'],
  transform: {
    '^.+\\.[cm]?[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }],
  },
  // hyparquet, hyparquet-writer, hyparquet-compressors and its hysnappy ship ES modules only;
  // let ts-jest turn them into CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!(hyparquet|hyparquet-writer|hyparquet-compressors|hysnappy)/)'],
  moduleNameMapper: {
    '^hyparquet$': '<rootDir>/node_modules/hyparquet/src/node.js',
    '^hyparquet-writer$': '<rootDir>/node_modules/hyparquet-writer/src/node.js',
  },
  testTimeout: 120000,
  // Longest suites first, also without Jest's cache (a clean clone): see test/sequencer.js.
  testSequencer: '<rootDir>/test/sequencer.js',
};
