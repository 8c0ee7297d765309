// `nodeprof serve`: attach to the target, keep the session, answer /debug/pprof/ until SIGINT/SIGTERM,
// then stop every collection in the target and exit 0.

import { UsageError } from '../errors.js';
import type { HeapMode } from '../pprof/heap-profile.js';
import type { TargetSpec } from '../target/target-spec.js';
import { Facade } from './facade.js';
import { createRequestHandler } from './handler.js';
import { closeHttpServer, startHttpServer, type ListenAddress } from './listen.js';
import { isLoopbackHost } from './security.js';
import { remoteTransport } from './transport.js';

export interface ServePlan {
  target: TargetSpec;
  listen: ListenAddress;
  token?: string;
  heapMode: HeapMode;
  maxSeconds: number;
  quiet: boolean;
}

export interface ServeIO {
  /** Always shown (the bound address, shutdown). */
  say(line: string): void;
  interrupted: Promise<void>;
  setAbortHook(hook: (() => Promise<void>) | undefined): void;
}

export function checkServePlan(plan: ServePlan): void {
  if (!isLoopbackHost(plan.listen.host) && !plan.token) {
    throw new UsageError(
      `--listen ${plan.listen.host} is reachable from other machines, and the inspector behind nodeprof can run any code in the target: add --token <secret> (or NODEPROF_TOKEN), or listen on 127.0.0.1`,
    );
  }
}

export async function runServe(plan: ServePlan, io: ServeIO): Promise<number> {
  checkServePlan(plan);
  const facade = new Facade(remoteTransport(plan.target), { heapMode: plan.heapMode, maxSeconds: plan.maxSeconds, log: io.say });
  const handler = createRequestHandler(facade, { token: plan.token, listenHost: plan.listen.host }, plan.quiet ? undefined : io.say);
  // Bind first: a serve that cannot listen must not touch the target (stopping its heap sampler
  // would stop the one another serve on the same target reads from: V8 has one per isolate).
  const { server, url } = await startHttpServer(plan.listen, handler);
  let att;
  try {
    att = await facade.start();
  } catch (err) {
    await closeHttpServer(server);
    throw err;
  }
  io.setAbortHook(() => facade.close());
  io.say(`nodeprof: serving ${url} for ${facade.transport.where} (pid ${att.info.pid}); heap sampler in ${plan.heapMode} mode; Ctrl-C to stop`);
  await io.interrupted;
  io.say('nodeprof: stopping: ending every collection in the target');
  await facade.close();
  await closeHttpServer(server);
  io.setAbortHook(undefined);
  return 0;
}
