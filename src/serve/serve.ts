// `nodeprof serve`: attach to the target, keep the session, answer /debug/pprof/ until SIGINT/SIGTERM,
// then stop every collection in the target and exit 0.

import { EXIT_INTERRUPTED, EXIT_RUNTIME, NodeprofError, UsageError, errorMessage, oneLine } from '../errors.js';
import { exposureNotice, resolvePid } from '../target/pid.js';
import type { HeapMode } from '../pprof/heap-profile.js';
import type { TargetSpec } from '../target/target-spec.js';
import { Facade } from './facade.js';
import { createRequestHandler, type RequestHandler } from './handler.js';
import { sendError } from './http-error.js';
import { closeHttpServer, isLoopbackAddress, resolveListen, startHttpServer, type ListenAddress, type Lookup } from './listen.js';
import { isLoopbackHost, tokenProblem } from './security.js';
import { remoteTransport } from './transport.js';

export interface ServePlan {
  target: TargetSpec;
  listen: ListenAddress;
  token?: string;
  heapMode: HeapMode;
  /** --heap-interval: the heap sampler's interval, bytes. */
  heapIntervalBytes?: number;
  /** --heap-read-interval, ms: the heap sampler is read from the target at most this often. */
  heapReadIntervalMs?: number;
  maxSeconds: number;
  /** CPU sampling interval, µs (--cpu-interval). */
  cpuIntervalUs?: number;
  /** --no-jit-reset: no deoptimization at the start of each CPU window on Node 22+. */
  jitReset?: boolean;
  quiet: boolean;
}

export interface ServeIO {
  /** Always shown (the bound address, shutdown). */
  say(line: string): void;
  interrupted: Promise<void>;
  setAbortHook(hook: (() => Promise<void>) | undefined): void;
}

/**
 * The address serve will bind, once the plan is checked: a token that is too weak is refused, and
 * so is a listen address off loopback without a token, judged on the address the name resolves to
 * (the one then bound), not on the name.
 */
export async function checkServePlan(plan: ServePlan, lookup?: Lookup): Promise<ListenAddress> {
  const weak = tokenProblem(plan.token);
  if (weak) throw new UsageError(`--token ${weak}`);
  const refuse = (shown: string) =>
    new UsageError(
      `--listen ${shown} is reachable from other machines, and the inspector behind nodeprof can run any code in the target: add --token <secret> (or NODEPROF_TOKEN), or listen on 127.0.0.1`,
    );
  // Without a token both must be loopback: the name (no look-up needed to refuse example.com) and the address it resolves to.
  if (!plan.token && !isLoopbackHost(plan.listen.host)) throw refuse(plan.listen.host);
  const bound = await resolveListen(plan.listen, lookup);
  if (!plan.token && !isLoopbackAddress(bound.host)) throw refuse(bound.host === plan.listen.host ? plan.listen.host : `${plan.listen.host} (${bound.host})`);
  return bound;
}

export async function runServe(plan: ServePlan, io: ServeIO): Promise<number> {
  const bound = await checkServePlan(plan);
  // Bind first: a serve that cannot listen must not touch the target (stopping its heap sampler
  // would stop the one another serve on the same target reads from: V8 has one per isolate).
  let handle: RequestHandler | undefined;
  const { server, url } = await startHttpServer(bound, (req, res) => {
    if (handle) return handle(req, res);
    sendError(res, 503, 'nodeprof is still attaching to the target', { 'Retry-After': '1' });
    return true;
  });
  // A pid target: its inspector is found or opened (SIGUSR1) once, kept open while serving, and
  // closed again on shutdown if nodeprof opened it. One nodeprof opened is moved off 9229 to a port
  // the OS picks, and serve says what that exposes (any local user who reaches it runs code).
  let releasePid: () => Promise<void> = async () => undefined;
  let target = plan.target;
  if (target.kind === 'pid') {
    try {
      const found = await resolvePid(target.pid, { log: io.say, moveInspector: true });
      let released: Promise<void> | undefined;
      releasePid = () => (released ??= found.release());
      target = { kind: 'address', host: found.host, port: found.port, text: target.text };
      if (found.opened) io.say(await exposureNotice(found));
    } catch (err) {
      await releasePid();
      await closeHttpServer(server);
      throw err;
    }
  }
  const facade = new Facade(remoteTransport(target), {
    heapMode: plan.heapMode,
    heapIntervalBytes: plan.heapIntervalBytes,
    heapReadIntervalMs: plan.heapReadIntervalMs,
    maxSeconds: plan.maxSeconds,
    cpuIntervalUs: plan.cpuIntervalUs,
    jitReset: plan.jitReset,
    log: io.say,
  });
  // Whatever ends serve, an inspector it opened is closed: a crash of nodeprof, or a hang-up too.
  const guard = guardRelease(async () => {
    await facade.close();
    await releasePid();
  }, io.say);
  try {
    handle = createRequestHandler(facade, { token: plan.token, listenHost: plan.listen.host }, plan.quiet ? undefined : io.say);
    let att;
    try {
      // A Ctrl-C while attaching (a target that does not answer takes up to 4-5 s to give up on)
      // ends serve at once; close() stops whatever the attach still sets up in the target.
      const starting = facade.start();
      starting.catch(() => undefined); // raced: a failure after a Ctrl-C is nobody's to report
      att = await Promise.race([starting, io.interrupted.then(() => undefined)]);
      if (!att) {
        await facade.close();
        throw new NodeprofError(`interrupted while attaching to ${facade.transport.where}: nothing was served`, EXIT_INTERRUPTED);
      }
    } catch (err) {
      await releasePid();
      await closeHttpServer(server);
      throw err;
    }
    io.setAbortHook(async () => {
      await facade.close();
      await releasePid();
    });
    io.say(`nodeprof: serving ${url} for ${facade.transport.where} (pid ${att.info.pid}); heap sampler in ${plan.heapMode} mode; Ctrl-C to stop`);
    await io.interrupted;
    io.say('nodeprof: stopping: ending every collection in the target');
    try {
      await facade.close();
    } finally {
      await releasePid();
    }
    await closeHttpServer(server);
    io.setAbortHook(undefined);
    return 0;
  } finally {
    guard.dispose();
  }
}

/**
 * Until disposed: an uncaught exception or a SIGHUP (the terminal closed) runs `cleanup` (bounded)
 * before nodeprof exits, instead of leaving the target's inspector open until it exits.
 */
export function guardRelease(cleanup: () => Promise<void>, say: (line: string) => void): { dispose(): void } {
  let running = false;
  const end = (code: number) => {
    if (running) return;
    running = true;
    const exit = () => process.exit(code);
    setTimeout(exit, 5000).unref();
    cleanup().then(exit, exit);
  };
  const onFatal = (err: unknown) => {
    say(`nodeprof: unexpected error: ${oneLine(errorMessage(err))}; closing what nodeprof opened in the target`);
    end(EXIT_RUNTIME);
  };
  const onHangUp = () => end(129);
  process.on('uncaughtException', onFatal);
  process.on('SIGHUP', onHangUp);
  return {
    dispose() {
      process.removeListener('uncaughtException', onFatal);
      process.removeListener('SIGHUP', onHangUp);
    },
  };
}
