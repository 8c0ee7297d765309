// The worker thread behind nodeprof/register: serves /debug/pprof/ and drives the main thread
// through inspector.Session.connectToMainThread(), so it answers while the app's loop is blocked.
// The HTTP server is what keeps this worker alive (inspector sessions do not).

import { workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { Facade } from './facade.js';
import { createRequestHandler } from './handler.js';
import type { InProcessOptions } from './in-process.js';
import { isLoopbackAddress, parseListen, resolveListen, startHttpServer } from './listen.js';
import { isLoopbackHost, tokenProblem } from './security.js';
import { inProcessTransport } from './transport.js';
import { useSettings } from '../settings.js';
import { parseCpuInterval, SERVE_CPU_INTERVAL_US } from './cpu-rate.js';
import { parseSize } from '../size.js';

const opts = workerData as InProcessOptions;
useSettings(opts.settings ?? {});
const say = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const listen = parseListen(opts.listen ?? '127.0.0.1:6060');
  const weak = tokenProblem(opts.token);
  if (weak) {
    say(`nodeprof/register: not serving on ${opts.listen}: NODEPROF_TOKEN ${weak}`);
    return;
  }
  // Without a token, the name and the address it resolves to (the one bound) must both be loopback.
  const bound = !opts.token && !isLoopbackHost(listen.host) ? undefined : await resolveListen(listen);
  if (!bound || (!isLoopbackAddress(bound.host) && !opts.token)) {
    say(`nodeprof/register: not serving on ${opts.listen}: it is reachable from other machines; set NODEPROF_TOKEN (or listen on 127.0.0.1)`);
    return;
  }
  let cpuIntervalUs: number;
  let heapIntervalBytes: number | undefined;
  try {
    cpuIntervalUs = opts.cpuInterval === undefined ? SERVE_CPU_INTERVAL_US : parseCpuInterval(opts.cpuInterval, 'NODEPROF_CPU_INTERVAL');
    heapIntervalBytes = opts.heapInterval === undefined ? undefined : parseSize(opts.heapInterval, 'NODEPROF_HEAP_INTERVAL');
  } catch (err) {
    say(`nodeprof/register: not serving on ${opts.listen}: ${errorMessage(err)}`);
    return;
  }
  const facade = new Facade(inProcessTransport('main-thread-from-worker'), {
    heapMode: opts.heapMode ?? 'inuse',
    heapIntervalBytes,
    maxSeconds: opts.maxSeconds ?? 300,
    cpuIntervalUs,
  });
  const handler = createRequestHandler(facade, { token: opts.token, hosts: opts.hosts, listenHost: listen.host }, opts.logRequests ? say : undefined);
  // Listen first: if the port is taken, nothing was started in the app.
  const { url, server } = await startHttpServer(bound, handler);
  try {
    await facade.start();
  } catch (err) {
    server.close();
    throw err;
  }
  if (!opts.quiet) say(`nodeprof: serving ${url} in process ${process.pid} (heap sampler in ${opts.heapMode ?? 'inuse'} mode)`);
}

main().catch((err: unknown) => say(`nodeprof/register: profiling over HTTP is off: ${errorMessage(err)}`));
