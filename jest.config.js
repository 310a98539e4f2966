/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['ts-jest', { isolatedModules: true }] },
  testTimeout: 60000,
  maxWorkers: 2,
  // examples/ import the package by its published name, as a user's app does.
  moduleNameMapper: { '^cdk-grafana-credentials$': '<rootDir>/lib/index.ts' },
};
