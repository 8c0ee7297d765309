// --listen / NODEPROF_LISTEN spellings (host:port, [::1]:port, :port, port) and the HTTP server.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
  if (!m || port > 65535) throw new UsageError(`invalid listen address '${text}': use host:port, e.g. 127.0.0.1:6060, [::1]:6060 or 127.0.0.1:0 for any free port`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
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
