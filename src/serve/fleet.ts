// `nodeprof serve --all`: one facade per local Node.js process, each under /pid/<PID>/debug/pprof/,
// the same facade (and request handler) as `serve --target`, found by a rescan loop; GET /targets
// answers Prometheus HTTP service discovery for Grafana Alloy (__profile_path_prefix__) and others.
// Inspectors already open are used as they are; closed ones are opened (SIGUSR1, moved off 9229,
// serialized per network namespace) only with --open-inspectors, and closed again when serve ends.
// Processes in another network namespace are reached through a relay (netns-relay.ts), as root.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeprofError, errorMessage, oneLine } from '../errors.js';
import type { HeapMode } from '../pprof/heap-profile.js';
import { findInspectorTarget } from '../target/discover.js';
import {
  canEnterNamespaces,
  commandLine,
  discoverNodeProcesses,
  DiscoveryCache,
  openInspectorOfProcess,
  type FleetProcess,
} from '../target/fleet-discovery.js';
import { NetnsRelays } from '../target/netns-relay.js';
import { processIdentity, sameIdentity } from '../target/node-binary.js';
import { exposureNotice, resolvePid, type Reach } from '../target/pid.js';
import { processState } from '../target/proc.js';
import { connectWebSocket } from '../target/remote.js';
import { formatHostPort } from '../target/target-spec.js';
import { terminalText } from '../output/terminal-text.js';
import { Facade } from './facade.js';
import { createRequestHandler, requestUrl, type RequestHandler } from './handler.js';
import { HttpError, sendError } from './http-error.js';
import { closeHttpServer, startHttpServer, type ListenAddress } from './listen.js';
import { browserRefusal, hostAllowed, requestToken, tokenMatches, type Guard } from './security.js';
import { checkServePlan, guardRelease, type ServeIO } from './serve.js';
import type { Transport } from './transport.js';

export interface FleetPlan {
  listen: ListenAddress;
  token?: string;
  heapMode: HeapMode;
  /** --heap-interval, bytes. */
  heapIntervalBytes?: number;
  /** --heap-read-interval, ms. */
  heapReadIntervalMs?: number;
  maxSeconds: number;
  /** --cpu-interval, µs. */
  cpuIntervalUs?: number;
  /** --no-jit-reset. */
  jitReset?: boolean;
  quiet: boolean;
  /** Only processes whose command line matches. */
  match?: RegExp;
  /** Never processes whose command line matches. */
  exclude?: RegExp;
  /** Open closed inspectors with SIGUSR1 (an intervention on every selected process). */
  openInspectors: boolean;
  /** How often the process list is read again. */
  rescanMs?: number;
}

/** How often serve --all looks for new and exited processes. */
export const RESCAN_MS = 2000;
/** How many exited processes are remembered for their 404's reason. */
const GONE_KEPT = 1000;
/** How long a process whose attach failed waits before the next try. */
const RETRY_FAILED_MS = 10_000;

type State = 'attaching' | 'serving' | 'skipped' | 'failed';

interface Member {
  proc: FleetProcess;
  state: State;
  /** Why it is not served (skipped, failed). */
  reason: string;
  facade?: Facade;
  handler?: RequestHandler;
  /** Closes what nodeprof opened in the process (its inspector), once. */
  release: () => Promise<void>;
  /** The inspector, as the process's namespace names it. */
  inspector?: string;
  retryAt: number;
  removed: boolean;
}

const PID_PATH = /^\/pid\/(\d{1,10})(\/.*)?$/;
const FACADE_PREFIX = '/debug/pprof';

const esc = (s: string) => terminalText(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

export class Fleet {
  readonly members = new Map<number, Member>();
  private readonly gone = new Map<number, string>();
  private readonly opens = new Map<string, Promise<unknown>>();
  private readonly cache = new DiscoveryCache();
  readonly relays = new NetnsRelays();
  private closed = false;
  private readonly guard: Guard;
  /** The port bound (the plan's may be 0). */
  listenPort: number;

  constructor(
    private readonly plan: FleetPlan,
    private readonly say: (line: string) => void,
  ) {
    this.guard = { token: plan.token, listenHost: plan.listen.host };
    this.listenPort = plan.listen.port;
  }

  private selected(p: FleetProcess): boolean {
    const cmd = commandLine(p);
    if (this.plan.match && !this.plan.match.test(cmd)) return false;
    if (this.plan.exclude?.test(cmd)) return false;
    return true;
  }

  /** One look at the process list: new processes are attached, exited ones dropped. */
  async scan(): Promise<void> {
    if (this.closed) return;
    const found = await discoverNodeProcesses({ cache: this.cache, exclude: (p) => !this.selected(p) });
    const now = new Map(found.map((p) => [p.pid, p]));
    for (const [pid, m] of this.members) {
      const p = now.get(pid);
      if (!p || !sameIdentity(p.identity, m.proc.identity)) this.remove(m, `pid ${pid} exited at ${new Date().toISOString()}: it is no longer served`);
    }
    for (const p of found) {
      const m = this.members.get(p.pid);
      if (!m) {
        this.gone.delete(p.pid);
        this.add(p);
      } else if ((m.state === 'skipped' || m.state === 'failed') && Date.now() >= m.retryAt) {
        // An inspector opened meanwhile (by the app, or a user) is used as it is.
        m.state = 'attaching';
        void this.start(m);
      }
    }
  }

  private add(p: FleetProcess): void {
    const m: Member = { proc: p, state: 'attaching', reason: '', release: async () => undefined, retryAt: 0, removed: false };
    this.members.set(p.pid, m);
    void this.start(m);
  }

  private remove(m: Member, reason: string): void {
    m.removed = true;
    this.members.delete(m.proc.pid);
    this.gone.set(m.proc.pid, reason);
    if (this.gone.size > GONE_KEPT) this.gone.delete(this.gone.keys().next().value!);
    if (m.state === 'serving') this.say(`nodeprof: pid ${m.proc.pid} (${m.proc.serviceName}) exited: no longer served`);
    void this.stop(m);
    if (!m.proc.sameNet && ![...this.members.values()].some((o) => o.proc.netns === m.proc.netns)) this.relays.drop(m.proc.netns);
  }

  private async stop(m: Member): Promise<void> {
    await m.facade?.close().catch(() => undefined);
    await m.release();
  }

  /** Runs `fn` after every earlier open in the same network namespace: SIGUSR1 opens 9229 there, one process at a time. */
  private serialized<T>(netns: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.opens.get(netns) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.opens.set(netns, tail);
    void tail.then(() => {
      if (this.opens.get(netns) === tail) this.opens.delete(netns);
    });
    return run;
  }

  private skip(m: Member, state: 'skipped' | 'failed', reason: string): void {
    const first = m.reason !== reason;
    m.state = state;
    m.reason = reason;
    m.retryAt = Date.now() + (state === 'failed' ? RETRY_FAILED_MS : 0);
    if (first) this.say(`nodeprof: pid ${m.proc.pid} (${m.proc.serviceName}) is not served: ${reason}`);
  }

  private async start(m: Member): Promise<void> {
    const p = m.proc;
    const log = (line: string) => this.say(line.startsWith('nodeprof: ') ? line : `nodeprof: pid ${p.pid}: ${line}`);
    let reach: Reach | undefined;
    if (!p.sameNet) {
      if (!canEnterNamespaces()) {
        return this.skip(
          m,
          'skipped',
          'it is in another network namespace (a container): reaching it needs root (CAP_SYS_ADMIN, to enter the namespace); run nodeprof as root, or inside that container',
        );
      }
      reach = this.relays.reachFor(p.pid, p.identity, p.netns);
    }
    try {
      let at = await openInspectorOfProcess(p, reach).catch(() => undefined);
      if (!at) {
        if (!this.plan.openInspectors) {
          return this.skip(
            m,
            'skipped',
            'its inspector is closed: start it with --inspect, or give serve --open-inspectors (nodeprof then opens it with SIGUSR1)',
          );
        }
        if (m.removed || this.closed) return;
        const found = await this.serialized(p.netns, async () => {
          if (m.removed || this.closed) return undefined;
          if (!sameIdentity(p.identity, processIdentity(p.pid))) return undefined;
          const r = await resolvePid(p.pid, { log, moveInspector: true, reach });
          m.release = once(r.release); // before anything else runs: close() may be waiting on this open
          return r;
        });
        if (!found) return;
        at = { host: found.host, port: found.port };
        if (found.opened) log(await exposureNotice(found));
      }
      m.inspector = formatHostPort(at.host, at.port);
      const local = reach ? await reach(at.host, at.port) : at;
      const where = `pid ${p.pid} (inspector ${m.inspector}${p.sameNet ? '' : ' in its network namespace'})`;
      const transport: Transport = {
        where,
        sameThread: false,
        open: async () => connectWebSocket((await findInspectorTarget(local.host, local.port)).webSocketDebuggerUrl, where),
      };
      const facade = new Facade(transport, {
        heapMode: this.plan.heapMode,
        heapIntervalBytes: this.plan.heapIntervalBytes,
        heapReadIntervalMs: this.plan.heapReadIntervalMs,
        maxSeconds: this.plan.maxSeconds,
        cpuIntervalUs: this.plan.cpuIntervalUs,
        jitReset: this.plan.jitReset,
        log,
      });
      m.facade = facade;
      await facade.start();
      if (m.removed || this.closed) {
        await this.stop(m);
        return;
      }
      m.handler = createRequestHandler(facade, this.guard, this.plan.quiet ? undefined : (line) => this.say(`pid ${p.pid}: ${line}`));
      m.state = 'serving';
      m.reason = '';
      this.say(`nodeprof: pid ${p.pid} (${p.serviceName}): served at /pid/${p.pid}/debug/pprof/ (inspector ${m.inspector})`);
    } catch (err) {
      const facade = m.facade;
      m.facade = undefined;
      await facade?.close().catch(() => undefined);
      await m.release();
      m.release = async () => undefined;
      if (m.removed || this.closed) return;
      if (processState(p.pid) !== 'alive') return; // the next scan says it exited
      this.skip(m, 'failed', oneLine(errorMessage(err)).replace(/^nodeprof: /, ''));
    }
  }

  /** Prometheus HTTP service discovery: one entry per served (or attaching) process. */
  targets(address: string): unknown[] {
    return [...this.members.values()]
      .filter((m) => m.state === 'serving' || m.state === 'attaching')
      .sort((a, b) => a.proc.pid - b.proc.pid)
      .map((m) => {
        const p = m.proc;
        const labels: Record<string, string> = { __profile_path_prefix__: `/pid/${p.pid}`, service_name: p.serviceName, pid: String(p.pid) };
        if (p.nodeVersion) labels.node_version = p.nodeVersion;
        if (p.containerId) labels.container_id = p.containerId;
        if (p.hostname) labels.hostname = p.hostname;
        return { targets: [address], labels };
      });
  }

  indexPage(token: string | undefined): string {
    const withToken = (link: string) => (token ? `${link}?token=${encodeURIComponent(token)}` : link);
    const rows = [...this.members.values()]
      .sort((a, b) => a.proc.pid - b.proc.pid)
      .map((m) => {
        const p = m.proc;
        const pid = m.state === 'serving' ? `<a href="${esc(withToken(`/pid/${p.pid}/debug/pprof/`))}">${p.pid}</a>` : String(p.pid);
        const state = m.state === 'serving' ? 'served' : m.state === 'attaching' ? 'attaching' : `not served: ${m.reason}`;
        // The command line only of served processes: their /debug/pprof/cmdline shows it anyway.
        const cmd = m.state === 'serving' ? commandLine(p) : '';
        return `<tr><td>${pid}</td><td>${esc(p.serviceName)}</td><td>${esc(p.nodeVersion ?? '')}</td><td>${esc(p.hostname ?? '')}</td><td>${esc(
          p.containerId?.slice(0, 12) ?? '',
        )}</td><td>${esc(state)}</td><td><code>${esc(cmd.length > 200 ? `${cmd.slice(0, 197)}...` : cmd)}</code></td></tr>`;
      })
      .join('\n');
    return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>nodeprof serve --all</title>
<style>body{font-family:sans-serif} td{padding:2px 8px;vertical-align:top}</style>
</head>
<body>
<p>Every Node.js process nodeprof serves on this host, each under /pid/&lt;PID&gt;/debug/pprof/. Scrapers: <a href="${esc(withToken('/targets'))}">/targets</a> (Prometheus HTTP service discovery).</p>
<table>
<thead><tr><td>pid</td><td>service_name</td><td>node_version</td><td>hostname</td><td>container</td><td>state</td><td>command line</td></tr></thead>
${rows}
</table>
</body>
</html>
`;
  }

  /** The HTTP side: the guard, then /, /targets, /pid/<PID>/debug/pprof/... (handed to that process's facade handler). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = requestUrl(req.url ?? '/');
    if (!url) return false;
    try {
      this.route(req, res, url);
    } catch (err) {
      if (err instanceof HttpError) sendError(res, err.status, err.message, err.headers);
      else sendError(res, 500, `nodeprof: ${errorMessage(err)}`);
    }
    return true;
  }

  private route(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (!hostAllowed(req.headers.host, this.guard)) {
      throw new HttpError(403, `Host '${req.headers.host}' is not this server: use its address or localhost (this check stops DNS rebinding)`);
    }
    const tokenOk = this.guard.token !== undefined && tokenMatches(requestToken(req, url.searchParams), this.guard.token);
    const fromPage = tokenOk ? undefined : browserRefusal(req, this.guard);
    if (fromPage) throw new HttpError(403, fromPage);
    if (this.guard.token !== undefined && !tokenOk) {
      throw new HttpError(401, 'a token is required: send Authorization: Bearer <token> or add ?token=<token>', { 'WWW-Authenticate': 'Bearer' });
    }
    const path = url.pathname;
    const m = PID_PATH.exec(path);
    if (m) return this.routePid(req, res, url, Number(m[1]), m[2] ?? '');
    const method = req.method ?? 'GET';
    if (path === '/' || path === '/targets') {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} is not supported here: use GET`, { Allow: 'GET, HEAD' });
      if (path === '/') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        res.end(this.indexPage(url.searchParams.get('token') ?? undefined));
        return;
      }
      const address = this.advertised(req);
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(this.targets(address)));
      return;
    }
    if (path === FACADE_PREFIX || path.startsWith(`${FACADE_PREFIX}/`)) {
      throw new HttpError(404, 'serve --all serves each process under /pid/<PID>/debug/pprof/: the list is at / and, for scrapers, /targets');
    }
    throw new HttpError(404, 'not found: serve --all answers /, /targets and /pid/<PID>/debug/pprof/');
  }

  /** host:port scrapers should use: the listen address, or the Host the request was sent to when serve listens on every interface. */
  private advertised(req: IncomingMessage): string {
    const { host } = this.plan.listen;
    const port = this.listenPort;
    if ((host === '0.0.0.0' || host === '::') && req.headers.host && /^[A-Za-z0-9.:[\]-]{1,300}$/.test(req.headers.host)) return req.headers.host;
    return formatHostPort(host, port);
  }

  private routePid(req: IncomingMessage, res: ServerResponse, url: URL, pid: number, rest: string): void {
    if (rest === '' || rest === '/' || rest === FACADE_PREFIX) {
      res.writeHead(301, { Location: `/pid/${pid}${FACADE_PREFIX}/${url.search}` });
      res.end();
      return;
    }
    if (!rest.startsWith(`${FACADE_PREFIX}/`)) throw new HttpError(404, `not found: pid ${pid} is served under /pid/${pid}${FACADE_PREFIX}/`);
    const m = this.members.get(pid);
    if (!m) {
      const gone = this.gone.get(pid);
      throw new HttpError(404, gone ?? `no Node.js process with pid ${pid} is served here (the list is at / and /targets)`);
    }
    if (m.state === 'attaching') throw new HttpError(503, `nodeprof is still attaching to pid ${pid}`, { 'Retry-After': '1' });
    if (m.state === 'skipped') throw new HttpError(404, `pid ${pid} is not served: ${m.reason}`);
    if (m.state === 'failed' || !m.handler)
      throw new HttpError(502, `pid ${pid} is not served: ${m.reason}`, { 'Retry-After': String(RETRY_FAILED_MS / 1000) });
    // The facade's own handler, as serve --target has it, on the path without the prefix.
    req.url = `${rest}${url.search}`;
    if (!m.handler(req, res)) throw new HttpError(404, 'Unknown profile');
  }

  /** Stops scanning; ends every collection, closes every inspector nodeprof opened, ends the relays. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.members.values()];
    await Promise.all(all.map((m) => this.stop(m)));
    // Opens still under way end with closed set; wait for them, then release what they opened.
    await Promise.all([...this.opens.values()]);
    await Promise.all(all.map((m) => m.release()));
    this.relays.close();
  }
}

export async function runFleet(plan: FleetPlan, io: ServeIO): Promise<number> {
  const bound = await checkServePlan({ ...plan, target: { kind: 'pid', pid: 1, text: 'all' } });
  const fleet = new Fleet({ ...plan, listen: bound }, io.say);
  const { server, url } = await startHttpServer(bound, (req, res) => fleet.handle(req, res));
  // Port 0: /targets names the port the OS picked.
  fleet.listenPort = (server.address() as AddressInfo).port;
  const base = url.replace(/\/debug\/pprof\/$/, '/');
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let lastScanError = '';
  const loop = async () => {
    try {
      await fleet.scan();
      lastScanError = '';
    } catch (err) {
      const msg = errorMessage(err);
      if (msg !== lastScanError) io.say(`nodeprof: warning: reading the process list: ${oneLine(msg)}`);
      lastScanError = msg;
    }
    if (!stopped) timer = setTimeout(() => void loop(), plan.rescanMs ?? RESCAN_MS);
  };
  const shutdown = once(async () => {
    stopped = true;
    clearTimeout(timer);
    await fleet.close();
  });
  const guard = guardRelease(shutdown, io.say);
  try {
    await fleet.scan().catch((err: unknown) => {
      throw new NodeprofError(`cannot read the process list: ${errorMessage(err)}`);
    });
    io.setAbortHook(shutdown);
    io.say(
      `nodeprof: serving ${base} for every Node.js process${plan.match ? ` matching ${plan.match.source}` : ''} (${fleet.members.size} now, rescanned every ${(plan.rescanMs ?? RESCAN_MS) / 1000}s); scrapers: ${base}targets; Ctrl-C to stop`,
    );
    timer = setTimeout(() => void loop(), plan.rescanMs ?? RESCAN_MS);
    await io.interrupted;
    io.say('nodeprof: stopping: ending every collection and closing the inspectors nodeprof opened');
    await shutdown();
    await closeHttpServer(server);
    io.setAbortHook(undefined);
    return 0;
  } catch (err) {
    await shutdown();
    await closeHttpServer(server);
    throw err;
  } finally {
    guard.dispose();
  }
}
