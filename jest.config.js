// Tests are written in TypeScript and compiled with the sources (npm run build); jest runs the
// compiled ESM from dist/ under --experimental-vm-modules.
const common = { testEnvironment: 'node', transform: {}, moduleFileExtensions: ['js'] };
export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/dist/test/unit/**/*.test.js'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/dist/test/e2e/**/*.test.js'] },
    { ...common, displayName: 'interop', testMatch: ['<rootDir>/dist/test/interop/**/*.test.js'] },
  ],
};
