// A small HTTP load client for the loopback bench: a fixed number of keep-alive connections, each
// sending one request after another, for a bounded time and a bounded number of requests.

import http from 'node:http';

export interface LoadResult {
  ok: number;
  errors: number;
  ms: number;
  /** Successful requests per second. */
  rps: number;
}

export interface LoadOptions {
  port: number;
  connections: number;
  durationMs: number;
  /** Hard cap on requests, whatever the duration. */
  maxRequests: number;
  /** When given, each successful request's latency (ms) is pushed here. */
  latencies?: number[];
}

export async function runLoad(agent: http.Agent, o: LoadOptions): Promise<LoadResult> {
  let sent = 0;
  let ok = 0;
  let errors = 0;
  const started = performance.now();
  const end = started + o.durationMs;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.get({ host: '127.0.0.1', port: o.port, path: `/items?min=${100 + (sent % 400)}`, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) {
            ok++;
            o.latencies?.push(performance.now() - t0);
          } else errors++;
          resolve();
        });
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
    });
  const worker = async () => {
    while (performance.now() < end && sent < o.maxRequests) {
      sent++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: o.connections }, worker));
  const ms = performance.now() - started;
  return { ok, errors, ms, rps: (ok * 1000) / ms };
}

export function newAgent(connections: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: connections });
}
