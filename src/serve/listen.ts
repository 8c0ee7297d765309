// --listen / NODEPROF_LISTEN spellings (host:port, [::1]:port, :port, port) and the HTTP server.

import dns from 'node:dns';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { NodeprofError, UsageError, errorMessage } from '../errors.js';
import { formatHostPort } from '../target/target-spec.js';
import type { RequestHandler } from './handler.js';
import { sendError } from './http-error.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(text: string): ListenAddress {
  const t = text.trim();
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(t) ?? /^()()(\d{1,5})$/.exec(t);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new UsageError(`invalid listen address '${text}': use host:port, e.g. 127.0.0.1:6060, [::1]:6060 or 127.0.0.1:0 for any free port`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

/** How a listen name becomes an address; a parameter so tests can make a name resolve anywhere. */
export type Lookup = (host: string) => Promise<{ address: string; family: number }>;

const systemLookup: Lookup = (host) => dns.promises.lookup(host);

/**
 * The address a --listen name binds, resolved once here (as listen() would), so the loopback rule
 * judges the address that is bound, not the name: `svc.localhost` may resolve anywhere.
 */
export async function resolveListen(listen: ListenAddress, lookup: Lookup = systemLookup): Promise<ListenAddress> {
  if (net.isIP(listen.host)) return listen;
  try {
    return { host: (await lookup(listen.host)).address, port: listen.port };
  } catch (err) {
    throw new NodeprofError(`cannot listen on ${formatHostPort(listen.host, listen.port)}: cannot resolve ${listen.host}: ${errorMessage(err)}`);
  }
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms; never 0.0.0.0 or :: (every interface). */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  const v4 = /^(?:::ffff:)?(\d+)\.\d+\.\d+\.\d+$/.exec(a);
  if (v4) return net.isIPv4(a.replace(/^::ffff:/, '')) && v4[1] === '127';
  return net.isIPv6(a) && /^(0{0,4}:){1,7}0{0,3}1$|^::1$/.test(a);
}

export function startHttpServer(listen: ListenAddress, handle: RequestHandler): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    try {
      if (!handle(req, res)) sendError(res, 404, 'not found: nodeprof serves /debug/pprof/');
    } catch (err) {
      // A throw here would be an uncaught exception: the server (or the app it lives in) would die.
      sendError(res, 500, `nodeprof: ${errorMessage(err)}`);
    }
  });
  // Long CPU windows: never time a request out from our side (Node's default is 5 minutes).
  server.requestTimeout = 0;
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = formatHostPort(listen.host, listen.port);
      reject(
        new NodeprofError(
          err.code === 'EADDRINUSE'
            ? `cannot listen on ${where}: the address is in use (pick another with --listen, or port 0 for any free one)`
            : `cannot listen on ${where}: ${err.message}`,
        ),
      );
    });
    server.listen(listen.port, listen.host, () => {
      const a = server.address() as AddressInfo;
      resolve({ server, url: `http://${formatHostPort(a.address, a.port)}${'/debug/pprof/'}` });
    });
  });
}

export function closeHttpServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
