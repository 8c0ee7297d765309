// The /debug/pprof/ table, as in Go's net/http/pprof: every route with its one-line description and
// index link, each handler a dozen lines (parse the query, ask the facade, answer). The index page
// is rendered from this same table.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Profile } from 'pprof-format';
import { encodePprof } from '../pprof/encode.js';
import type { Facade } from './facade.js';
import { HttpError } from './http-error.js';
import { MAX_CPU_WINDOWS } from './cpu-window.js';
import { hzInterval } from './cpu-rate.js';
import { deltaAnswer, emptyAnswer, goroutineAnswer, stacksText, EMPTY_PROFILES } from './profiles.js';
import { contentionText, countText, heapText } from './go-text.js';
import { terminalText } from '../output/terminal-text.js';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  facade: Facade;
}

export interface Route {
  name: string;
  description: string;
  /** The index page's link, relative to /debug/pprof/. */
  link: string;
  /** Reads a request body (POST /symbol). Every route answers GET, HEAD and POST, as Go's do. */
  post?: boolean;
  handle(ctx: RouteContext): Promise<void>;
}

// --- parameters -------------------------------------------------------------------------------

function seconds(ctx: RouteContext): number | undefined {
  const raw = ctx.query.get('seconds');
  if (raw === null || raw === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) <= 0) throw new HttpError(400, `invalid value for "seconds" - must be a positive number`);
  const n = Number(raw);
  if (n > ctx.facade.maxSeconds) throw new HttpError(400, `"seconds" is ${n}, over this server's limit of ${ctx.facade.maxSeconds} (--max-seconds)`);
  return n;
}

/** ?hz=H: the CPU sampling rate of this request's window (default the server's, --cpu-interval). */
function hz(ctx: RouteContext): number | undefined {
  const raw = ctx.query.get('hz');
  if (raw === null || raw === '') return undefined;
  const us = hzInterval(raw);
  if (typeof us === 'string') throw new HttpError(400, us);
  return us;
}

/**
 * An integer parameter read as Go's handlers read theirs (`n, _ := strconv.Atoi(...)`): anything
 * that is not an integer counts as 0, so `debug=abc` gets the binary profile, as from Go.
 */
function goInt(ctx: RouteContext, name: string): number {
  const raw = ctx.query.get(name) ?? '';
  return /^[+-]?\d+$/.test(raw) ? Number(raw) : 0;
}

// --- answers ----------------------------------------------------------------------------------

function sendBinary(res: ServerResponse, filename: string, body: Uint8Array | string): void {
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': `attachment; filename="${filename}"`,
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(body);
}

function sendText(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(text);
}

/** How a kind is written as text: when (by the debug value, as Go decides per kind) and how. */
interface TextForm {
  when(debug: number): boolean;
  write(p: Profile): string;
}

/**
 * A profile kind as Go serves it: binary by default, ?debug=N as Go's text (go-text.ts), ?seconds=N
 * as a delta between two collections N seconds apart (filename "<name>-delta").
 */
function pprofRoute(
  name: string,
  description: string,
  collect: (ctx: RouteContext) => Promise<Profile>,
  text: TextForm,
  dump?: (ctx: RouteContext) => Promise<string>,
): Route {
  return {
    name,
    description,
    link: name,
    async handle(ctx) {
      const sec = seconds(ctx);
      const debug = goInt(ctx, 'debug');
      if (sec !== undefined && debug !== 0) throw new HttpError(400, 'seconds and debug params are incompatible');
      if (sec !== undefined) {
        const p0 = await collect(ctx);
        await ctx.facade.wait(ctx.res, sec * 1000);
        const p1 = await collect(ctx);
        return sendBinary(ctx.res, `${name}-delta`, encodePprof(deltaAnswer(p0, p1, ctx.facade.book)));
      }
      if (dump && debug >= 2) return sendText(ctx.res, await dump(ctx));
      if (text.when(debug)) return sendText(ctx.res, text.write(await collect(ctx)));
      sendBinary(ctx.res, name, encodePprof(await collect(ctx)));
    },
  };
}

// Go writes heap text for any debug but 0 (writeHeapInternal), the other kinds for debug > 0.
const HEAP_TEXT: TextForm = { when: (debug) => debug !== 0, write: heapText };
const countForm = (name: string): TextForm => ({ when: (debug) => debug > 0, write: (p) => countText(p, name) });

// A delta (?seconds=) needs a read at each end, not a recent one.
const heapCollect = async (ctx: RouteContext) => ctx.facade.heap(goInt(ctx, 'gc') > 0, seconds(ctx) !== undefined);

export function modeNote(f: Facade): string {
  return f.heapMode === 'inuse'
    ? 'The heap sampler runs in inuse mode: heap and allocs both hold inuse_objects/inuse_space (live objects). Start serve with --heap-mode alloc for alloc_objects/alloc_space.'
    : 'The heap sampler runs in alloc mode: heap and allocs both hold alloc_objects/alloc_space (every allocation since sampling began). Start serve with --heap-mode inuse for live objects.';
}

export const ROUTES: readonly Route[] = [
  {
    name: 'profile',
    description: `CPU profile of the main thread. The duration is the seconds GET parameter (default 30), the sampling rate hz (default the server's, 100). Open the result with go tool pprof. At most ${MAX_CPU_WINDOWS} windows run at once (with cpuprofile); a further request shares one that covers its seconds, or gets 503 with Retry-After.`,
    link: 'profile?seconds=5',
    async handle(ctx) {
      const sec = seconds(ctx) ?? 30;
      const w = await ctx.facade.cpu(ctx.res, sec, hz(ctx));
      sendBinary(ctx.res, 'profile', ctx.facade.cpuPprof(w));
    },
  },
  pprofRoute(
    'heap',
    "A sampling of memory from V8's one sampling heap profiler, started when nodeprof attached. The gc GET parameter collects garbage first; seconds gives a delta; debug=1 is Go's text format.",
    heapCollect,
    HEAP_TEXT,
  ),
  pprofRoute(
    'allocs',
    'The same heap sampler as heap (Go answers both from one profile): in alloc mode, every allocation since sampling began, never decreasing per stack.',
    heapCollect,
    HEAP_TEXT,
  ),
  pprofRoute(
    'goroutine',
    'Current JavaScript stack of the main thread and of each worker thread (label thread), read without pausing them ((idle) when the event loop waits). debug=1 as text, debug=2 as a stack dump.',
    async (ctx) => goroutineAnswer(await ctx.facade.stacks(), ctx.facade.book),
    countForm('goroutine'),
    async (ctx) => stacksText(await ctx.facade.stacks()),
  ),
  ...(['block', 'mutex', 'threadcreate'] as const).map((kind) =>
    pprofRoute(
      kind,
      `Always an empty profile with Go's sample types, so scrapers' defaults work: ${EMPTY_PROFILES[kind].why}.`,
      async (ctx) => emptyAnswer(kind, ctx.facade.book),
      kind === 'threadcreate' ? countForm(kind) : { when: (debug) => debug > 0, write: (p) => contentionText(p, kind) },
    ),
  ),
  {
    name: 'cmdline',
    description: "The target's command line (node, its options, the script and its arguments), NUL-separated.",
    link: 'cmdline',
    async handle(ctx) {
      const { info } = ctx.facade.link.get();
      sendText(ctx.res, [info.argv[0] ?? 'node', ...info.execArgv, ...info.argv.slice(1)].map(terminalText).join('\u0000'));
    },
  },
  {
    name: 'symbol',
    description:
      "Go's symbol protocol over the addresses this server gives locations: GET says num_symbols: 1; POST (or GET ?0x..+0x..) resolves addresses to function names.",
    link: 'symbol',
    post: true,
    async handle(ctx) {
      const body = ctx.req.method === 'POST' ? await readBody(ctx.req) : (new URL(ctx.req.url ?? '/', 'http://x').search.slice(1) ?? '');
      const out = ['num_symbols: 1'];
      for (const word of body.split('+')) {
        const w = word.trim();
        if (!/^(0x[0-9a-f]+|\d+)$/i.test(w)) continue;
        const frame = ctx.facade.book.lookup(BigInt(w));
        if (frame) out.push(`0x${BigInt(w).toString(16)} ${terminalText(frame.name)}`);
      }
      sendText(ctx.res, `${out.join('\n')}\n`);
    },
  },
  {
    name: 'trace',
    description:
      'Node.js trace events over the seconds GET parameter (default 1), as Chrome trace JSON: open it in https://ui.perfetto.dev or chrome://tracing. categories=a,b picks categories.',
    link: 'trace?seconds=1',
    async handle(ctx) {
      const sec = seconds(ctx) ?? 1;
      const cats = ctx.query.get('categories')?.split(',').filter(Boolean);
      const events = await ctx.facade.trace(ctx.res, sec, cats?.length ? cats : undefined);
      sendBinary(ctx.res, 'trace', JSON.stringify({ traceEvents: events }));
    },
  },
  {
    name: 'cpuprofile',
    description: 'Node extra: the raw V8 CPU profile (seconds GET parameter, default 30; hz as profile), for Chrome DevTools and speedscope.',
    link: 'cpuprofile?seconds=5',
    async handle(ctx) {
      const w = await ctx.facade.cpu(ctx.res, seconds(ctx) ?? 30, hz(ctx));
      sendBinary(ctx.res, 'profile.cpuprofile', JSON.stringify(w.profile));
    },
  },
  {
    name: 'heapsnapshot',
    description: 'Node extra: a full V8 heap snapshot, streamed as it is taken (pauses the target while V8 writes it); load it in Chrome DevTools, Memory tab.',
    link: 'heapsnapshot',
    async handle(ctx) {
      await ctx.facade.heapSnapshot(ctx.res, () =>
        ctx.res.writeHead(200, {
          'Content-Type': 'application/octet-stream',
          'Content-Disposition': 'attachment; filename="heap.heapsnapshot"',
          'X-Content-Type-Options': 'nosniff',
        }),
      );
      ctx.res.end();
    },
  },
];

const BY_NAME = new Map(ROUTES.map((r) => [r.name, r]));

export function findRoute(name: string): Route | undefined {
  return BY_NAME.get(name);
}

function readBody(req: IncomingMessage, limit = 1 << 20): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new HttpError(413, 'symbol request too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
