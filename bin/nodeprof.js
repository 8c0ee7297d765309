#!/usr/bin/env node
// nodeprof's entry: check the Node version, then run the built CLI (the bundle in dist/bundle, see scripts/bundle.mjs).
const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  process.stderr.write(`nodeprof: needs Node.js 20 or newer to run (this is ${process.version}); the processes it profiles may be Node.js 18 or newer\n`);
  process.exit(1);
}
// Node 22.1+: keep V8's compiled code of nodeprof and its dependencies on disk (in the OS temp
// directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off), so later runs start faster.
const { default: nodeModule } = await import('node:module');
try {
  nodeModule.enableCompileCache?.();
} catch {
  // A cache that cannot be used (read-only temp directory, ...) only costs speed.
}
const { main } = await import('../dist/bundle/cli.js');
const code = await main();
// Let stdout drain before exiting; a pending write would otherwise be cut.
process.exitCode = code;
if (process.stdout.writableLength === 0) process.exit(code);
else process.stdout.once('drain', () => process.exit(code));
