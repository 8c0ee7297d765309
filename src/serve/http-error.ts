// The facade's one error path: an HttpError carries status and reason; sendError writes it the way
// Go's serveError does (plain text, X-Go-Pprof: 1 so go tool pprof prints the reason, nosniff).

import type { ServerResponse } from 'node:http';
import { oneLine } from '../errors.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendError(res: ServerResponse, status: number, reason: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    // A streamed answer failed half way: all we can do is cut it so the client sees it incomplete.
    res.destroy();
    return;
  }
  res.removeHeader('Content-Disposition');
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Go-Pprof': '1',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(`${oneLine(reason)}\n`);
}
