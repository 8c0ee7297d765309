// nodeprof as a library: the /debug/pprof/ facade mounted on an app's own node:http server (and so
// on express, fastify via its raw server, ...). For a facade that answers while the app's loop is
// blocked, use nodeprof/register instead: this handler shares the app's event loop.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './serve/http-error.js';
import { Facade } from './serve/facade.js';
import { createRequestHandler, PREFIX } from './serve/handler.js';
import type { InProcessOptions } from './serve/in-process.js';
import { inProcessTransport } from './serve/transport.js';
import { errorMessage } from './errors.js';
import { tokenProblem } from './serve/security.js';
import { settingsFromEnv, useSettings } from './settings.js';
import { parseCpuInterval } from './serve/cpu-rate.js';
import { parseSize } from './size.js';

export type { InProcessOptions } from './serve/in-process.js';

export interface PprofHandler {
  /** Answers /debug/pprof/* and returns true; otherwise calls next (if given) and returns false. */
  (req: IncomingMessage, res: ServerResponse, next?: () => void): boolean;
  /** Stops the heap sampler and any collection running, and closes the inspector sessions. */
  close(): Promise<void>;
}

export function pprofHandler(opts: Omit<InProcessOptions, 'listen' | 'quiet'> = {}): PprofHandler {
  const weak = tokenProblem(opts.token);
  if (weak) throw new TypeError(`nodeprof: pprofHandler's token ${weak}`);
  // The app's process is this entry's edge: NODEPROF_* bounds (answer timeout, ...) read here, once.
  useSettings(settingsFromEnv(process.env, false));
  let cpuIntervalUs: number | undefined;
  let heapIntervalBytes: number | undefined;
  try {
    cpuIntervalUs = opts.cpuInterval === undefined ? undefined : parseCpuInterval(opts.cpuInterval, 'cpuInterval');
    heapIntervalBytes = opts.heapInterval === undefined ? undefined : parseSize(opts.heapInterval, 'heapInterval');
  } catch (err) {
    throw new TypeError(`nodeprof: pprofHandler's ${errorMessage(err)}`);
  }
  const facade = new Facade(inProcessTransport('same-thread'), {
    heapMode: opts.heapMode ?? 'inuse',
    heapIntervalBytes,
    maxSeconds: opts.maxSeconds ?? 300,
    cpuIntervalUs,
  });
  const ready = facade.start();
  ready.catch(() => undefined);
  const handle = createRequestHandler(facade, { token: opts.token, hosts: opts.hosts }, opts.logRequests ? (l) => process.stderr.write(`${l}\n`) : undefined);
  const fn = ((req, res, next) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path !== PREFIX && !path.startsWith(`${PREFIX}/`)) {
      next?.();
      return false;
    }
    ready.then(
      () => {
        if (!handle(req, res)) sendError(res, 404, 'not found: a request target nodeprof cannot parse');
      },
      (err: unknown) => sendError(res, 503, `nodeprof could not attach to this process's inspector: ${errorMessage(err)}`),
    );
    return true;
  }) as PprofHandler;
  fn.close = () => facade.close();
  return fn;
}
