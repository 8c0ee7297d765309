// `import 'nodeprof/register'` / `node --import nodeprof/register app.js`: the Node equivalent of
// Go's `import _ "net/http/pprof"`. Starts the /debug/pprof/ facade on NODEPROF_LISTEN (default
// 127.0.0.1:6060) in a worker thread. Workers inherit --import, so this does nothing off the main
// thread, and starts its own worker with execArgv: [] so it does not load itself again.

import { isMainThread, Worker } from 'node:worker_threads';
import { optionsFromEnv } from './serve/in-process.js';

const KEY = Symbol.for('nodeprof.register');
const g = globalThis as { [KEY]?: Worker };

if (isMainThread && !g[KEY]) {
  const worker = new Worker(new URL('./serve/register-worker.js', import.meta.url), { execArgv: [], workerData: optionsFromEnv(process.env) });
  // Never keep the app alive, never take it down.
  worker.unref();
  worker.on('error', (err) => process.stderr.write(`nodeprof/register: profiling over HTTP stopped: ${err.message}\n`));
  g[KEY] = worker;
}
