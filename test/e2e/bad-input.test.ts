// The bad-input catalogue over HTTP and the command line, as properties (fast-check) against the
// real code: one `nodeprof serve` in front of a real fixtures/ticker.js for the whole file, and
// generated requests (paths in and outside /debug/pprof/, traversal-looking and percent-encoded
// paths, every query parameter with good and bad values, Host headers, methods) sent at it. Each
// answer has the status a spec-level oracle predicts (200/301/400/403/404/405), every error is one
// line of plain text with X-Go-Pprof: 1 and nosniff, and the server keeps answering.
// The parsers themselves are covered in test/unit/bad-input.test.ts; here the CLI is spawned for a
// small sample only (exit 2, one line on stderr).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import net from 'node:net';
import os from 'node:os';
import { parseDuration } from '../../src/duration.js';
import { UsageError } from '../../src/errors.js';
import { parseTarget } from '../../src/target/target-spec.js';
import { loadProfile } from '../helpers/profiles.js';
import { killAll, runCli, startTarget, type RunningTarget } from '../helpers/processes.js';
import { request, startServe, type HttpAnswer, type Serving } from '../helpers/serve.js';
import { DOCUMENTED_ROUTES, goInt, PPROF_KINDS } from '../helpers/routes.js';

const MAX_SECONDS = 1;
const WINDOWED = ['profile', 'cpuprofile', 'trace'];

let target: RunningTarget;
let serving: Serving;

beforeAll(async () => {
  target = await startTarget('ticker.js');
  serving = await startServe(target.port, ['--max-seconds', String(MAX_SECONDS)]);
}, 60_000);

afterAll(killAll);

// --- generated requests -------------------------------------------------------------------------

interface Req {
  method: string;
  path: string;
  params: Array<[string, string]>;
  host?: string;
  /** Junk Host headers: no status predicted beyond the allowed set. */
  junkHost?: boolean;
  body?: string;
}

const anyText = fc.string({ unit: 'binary', maxLength: 12 });
const paramValue = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '0.2',
    '0.5',
    '-1',
    '2',
    '61',
    '1e3',
    'abc',
    '',
    '0x10',
    '１',
    ' 1',
    '1 ',
    '99999999999999999999999',
    'NaN',
    'Infinity',
    '.5',
    '5.',
  ),
  fc.nat(3).map(String),
  anyText,
);
const categories = fc.oneof(fc.constantFrom('node', 'v8', 'node.perf', 'node,v8', ',', ',,node', 'no.such.category', 'node,no.such'), anyText);
const params = fc.uniqueArray(
  fc.oneof(
    fc.tuple(fc.constantFrom('seconds', 'gc', 'debug', 'token', 'sample_index', 'x'), paramValue),
    fc.tuple(fc.constant('categories'), categories),
    fc.tuple(anyText, anyText),
  ),
  { maxLength: 3, selector: ([k]) => k },
);
const segment = fc.oneof(
  fc.constantFrom(...DOCUMENTED_ROUTES),
  fc.webSegment(),
  anyText.map(encodeURIComponent),
  fc.constantFrom('HEAP', 'heap/', 'heap;x', 'heap%2F', 'heap%00', '%2e%2e', '..', '.', 'json', ''),
);
const path = fc.oneof(
  { weight: 6, arbitrary: segment.map((s) => `/debug/pprof/${s}`) },
  fc.constantFrom(
    '/debug/pprof',
    '/debug/pprof/../../etc/passwd',
    '/debug/pprof/%2e%2e/%2e%2e/etc/passwd',
    '/debug/pprof/heap/../heap',
    '/debug/pprof//heap',
    '/etc/../debug/pprof/heap',
    '/debug/pprofx',
    '/debug',
    '/',
    '/json',
    '/json/version',
    '/json/list',
  ),
  fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
);
/** Host headers a client might send: ours, loopback spellings, IP literals, other names, junk. */
const host = fc.option(
  fc.oneof(
    fc.constantFrom('localhost', '127.0.0.1', '[::1]', 'LOCALHOST', 'app.localhost', '127.1.2.3', '10.0.0.1', '[fe80::1]').map((h) => `${h}:PORT`),
    fc.domain().map((d) => `${d}:PORT`),
    fc.domain(),
    fc.stringMatching(/^[\x21-\x7e]{1,20}$/).map((h) => `JUNK${h}`),
  ),
  { freq: 2 },
);
const method = fc.oneof({ weight: 8, arbitrary: fc.constant('GET') }, fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'));
const requests: fc.Arbitrary<Req> = fc.record({ method, path, params, host, body: fc.option(anyText, { nil: undefined }) }).map((r) => {
  const h = r.host === null ? undefined : r.host.replace('PORT', String(serving.port));
  const req: Req = { ...r, host: h?.replace(/^JUNK/, ''), junkHost: h?.startsWith('JUNK') };
  // A CPU window without ?seconds= is 30 s: give it one (maybe a bad one) to keep the file short.
  const name = new URL(`http://x${req.path}`).pathname.replace(/^\/debug\/pprof\//, '');
  if (WINDOWED.includes(name)) {
    req.params = req.params.filter(([k, v]) => k !== 'seconds' || v !== '');
    if (!req.params.some(([k]) => k === 'seconds')) req.params.push(['seconds', '0.2']);
  }
  return req;
});

/** What the spec says the answer is: DESIGN section 2, Go's net/http/pprof. */
function expected(req: Req): number[] {
  const want = expectedStatus(req);
  if (req.junkHost) return [200, 301, 400, 403, 404, 405];
  return Array.isArray(want) ? want : [want];
}

function expectedStatus(req: Req): number | number[] {
  const url = new URL(`http://localhost${req.path}`);
  const hostName = req.host
    ?.replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  const loopbackOrIp =
    hostName === undefined ||
    hostName === 'localhost' ||
    hostName.endsWith('.localhost') ||
    net.isIP(hostName) !== 0 ||
    hostName === os.hostname().toLowerCase();
  const inside = url.pathname === '/debug/pprof' || url.pathname.startsWith('/debug/pprof/');
  if (!inside) return 404;
  if (!loopbackOrIp) return /^[a-z0-9.-]+$/.test(hostName!) ? 403 : [403, 400];
  // A name under .localhost other than localhost itself is what a web page uses to reach loopback
  // (Chromium resolves it there): refused without the token (issue 27).
  if (hostName !== undefined && hostName !== 'localhost' && hostName.endsWith('.localhost')) return 403;
  if (url.pathname === '/debug/pprof') return 301;
  const name = url.pathname.slice('/debug/pprof/'.length);
  if (name === '') return 200;
  if (!DOCUMENTED_ROUTES.includes(name)) return 404;
  // every route answers GET, HEAD and POST, as Go's; other methods 405 (docs/go-parity.md)
  if (!['GET', 'HEAD', 'POST'].includes(req.method)) return 405;
  const q = url.searchParams;
  for (const [k, v] of req.params) q.append(k, v);
  const bad = (k: string, re: RegExp) => q.get(k) !== null && q.get(k) !== '' && !re.test(q.get(k)!);
  const secondsBad =
    bad('seconds', /^\d+(\.\d+)?$/) ||
    (q.get('seconds') !== null && q.get('seconds') !== '' && (Number(q.get('seconds')) <= 0 || Number(q.get('seconds')) > MAX_SECONDS));
  const hasSeconds = q.get('seconds') !== null && q.get('seconds') !== '';
  if (WINDOWED.includes(name)) {
    if (secondsBad) return 400;
    if (name === 'trace' && q.get('categories') !== null) {
      const cats = q.get('categories')!.split(',').filter(Boolean);
      if (cats.some((c) => !['node', 'v8', 'node.perf'].includes(c))) return [200, 400];
    }
    return 200;
  }
  if (PPROF_KINDS.includes(name)) {
    // debug and gc are read as Go reads them (not an integer: 0); a bad seconds is our 400
    if (secondsBad) return 400;
    if (hasSeconds && goInt(q.get('debug')) !== 0) return 400;
  }
  return 200;
}

function send(req: Req): Promise<HttpAnswer> {
  const url = new URL(`${serving.url.replace('/debug/pprof/', '')}${req.path}`);
  for (const [k, v] of req.params) url.searchParams.append(k, v);
  return request(url.href, {
    method: req.method,
    // Connection: close: Node's client agent may reuse a kept-alive socket just as serve closes it (5 s idle)
    headers: { Connection: 'close', ...(req.host === undefined ? {} : { Host: req.host }) },
    body: req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH' ? req.body : undefined,
    timeoutMs: 30_000,
  });
}

/** Errors as Go's serveError writes them: plain text, one line, X-Go-Pprof: 1, nosniff. */
function expectOneLineError(a: HttpAnswer, method: string): void {
  expect(a.headers['content-type']).toBe('text/plain; charset=utf-8');
  expect(a.headers['x-go-pprof']).toBe('1');
  expect(a.headers['x-content-type-options']).toBe('nosniff');
  if (method === 'HEAD') return;
  expect(a.text.endsWith('\n')).toBe(true);
  expect(a.text.slice(0, -1)).not.toMatch(/[\r\n]/);
  expect(a.text).not.toMatch(/\bat .+:\d+:\d+/);
}

describe('HTTP bad input against a real serve', () => {
  test('200 generated requests: the predicted status; errors one line with X-Go-Pprof; the server keeps answering', async () => {
    await fc.assert(
      fc.asyncProperty(requests, async (req) => {
        const a = await send(req);
        const want = expected(req);
        expect({ req, status: a.status, want }).toEqual({ req, status: want.includes(a.status) ? a.status : want, want });
        if (a.status >= 400) expectOneLineError(a, req.method);
        else expect(a.headers['x-content-type-options'] ?? (a.status === 301 ? 'nosniff' : undefined)).toBe('nosniff');
        if (a.status === 301) expect(a.headers.location).toMatch(/^\/debug\/pprof\//);
      }),
      { numRuns: 200 },
    );
    expect(serving.run.proc.exitCode).toBeNull();
    expect(serving.stderr()).not.toMatch(/unexpected error|\n\s+at /);
    const heap = await request(`${serving.url}heap`);
    expect(heap.status).toBe(200);
    loadProfile(heap.body);
  }, 600_000);

  /** Sends one raw request line (what an HTTP client library would refuse to send), returns the status line and body. */
  function raw(line: string): Promise<{ status: number; head: string; body: string }> {
    return new Promise((resolve, reject) => {
      const c = net.connect(serving.port, '127.0.0.1', () => c.write(`${line}\r\nHost: 127.0.0.1:${serving.port}\r\nConnection: close\r\n\r\n`, 'latin1'));
      let data = '';
      c.setEncoding('latin1');
      c.on('data', (d: string) => (data += d));
      c.on('error', reject);
      c.on('close', () => {
        const [head = '', body = ''] = data.split('\r\n\r\n');
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body });
      });
    });
  }

  test('raw request targets URL() cannot parse, absolute-form, //host paths and encoded traversal: answered, never a crash', async () => {
    const cases: Array<[string, number]> = [
      // Node's parser lets these through and URL() throws on them: once an uncaught exception that ended serve
      ['GET http://[ HTTP/1.1', 404],
      ['GET http:// HTTP/1.1', 404],
      ['GET http://x:99999/debug/pprof/heap HTTP/1.1', 404],
      ['GET * HTTP/1.1', 404],
      // absolute-form is what proxies send: served
      [`GET http://127.0.0.1:${serving.port}/debug/pprof/cmdline HTTP/1.1`, 200],
      // a path that starts with // is a path, not a host
      ['GET //evil.example/debug/pprof/heap HTTP/1.1', 404],
      ['GET /debug/pprof/%2e%2e/%2e%2e/etc/passwd HTTP/1.1', 404],
      ['GET /debug/pprof/heap%00 HTTP/1.1', 404],
      ['GET /debug/pprof/%ZZ HTTP/1.1', 404],
      ['GET /debug/pprof/heap?seconds=%ZZ HTTP/1.1', 400],
      ['GET /debug/pprof/trace?seconds=1&categories=a%0Ab HTTP/1.1', 400],
    ];
    for (const [line, status] of cases) {
      const a = await raw(line);
      expect({ line, status: a.status }).toEqual({ line, status });
      if (status >= 400) {
        expect(a.head).toMatch(/\r\nX-Go-Pprof: 1\r\n/i);
        expect(a.head).toMatch(/\r\nX-Content-Type-Options: nosniff\r\n/i);
        // chunked: <size>\r\n<data>\r\n0\r\n\r\n
        const m = /^([0-9a-f]+)\r\n/i.exec(a.body);
        const data = m ? a.body.slice(m[0].length, m[0].length + parseInt(m[1]!, 16)) : a.body;
        expect({ line, data }).toEqual({ line, data: expect.stringMatching(/^[^\r\n]+\n$/) });
      }
    }
    // generated request lines of printable bytes: whatever Node's parser or nodeprof answers, the server lives on
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[\x21-\x7e]{0,40}$/), async (t) => {
        const a = await raw(`GET ${t} HTTP/1.1`);
        expect([200, 301, 400, 403, 404]).toContain(a.status);
      }),
      { numRuns: 100 },
    );
    expect(serving.run.proc.exitCode).toBeNull();
    expect((await request(serving.url)).status).toBe(200);
  }, 300_000);
});

// --- the CLI: a small fixed sample, each spawned ------------------------------------------------

const refused = (parse: () => unknown) => {
  try {
    parse();
    return false;
  } catch (err) {
    return err instanceof UsageError;
  }
};

describe('CLI bad input', () => {
  test('generated bad durations and targets: exit 2 and one line on stderr, before touching any target', async () => {
    // No NUL (argv cannot carry it); a leading '-' would make some of them flags, which is a usage error too.
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => !s.includes('\0') && s.trim() !== '');
    const badDurations = fc.sample(
      text.filter((s) => refused(() => parseDuration(s))),
      { numRuns: 3, seed: 9 },
    );
    const badTargets = fc.sample(
      text.filter((s) => refused(() => parseTarget(s)) && !s.startsWith('-')),
      { numRuns: 3, seed: 9 },
    );
    // 8 spawns in all: each costs a CLI start (the parsers themselves get thousands of inputs in the unit test)
    const runs = [
      ...badDurations.map((d) => ['attach', String(target.port), `--cpu=${d}`]),
      ...badTargets.map((t) => ['attach', t, '--cpu', '1s']),
      ['serve', '--target', String(target.port), '--listen=127.0.0.1:0', '--max-seconds=-3'],
      ['attach', String(target.port), '--cpu', '1s', '--interval=1\n2ms'],
    ];
    for (const args of runs) {
      const r = await runCli(args, { timeoutMs: 30_000 });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr.endsWith('\n')).toBe(true);
      expect({ args, lines: r.stderr.trimEnd().split('\n') }).toEqual({ args, lines: [expect.stringMatching(/^nodeprof: /)] });
      expect(r.stdout.length).toBe(0);
    }
  }, 300_000);

  test('an option given twice: exit 2, one line naming the option and both values (not their comma-joined text)', async () => {
    const cases: Array<[string[], string]> = [
      [
        ['serve', '--target', String(target.port), '--listen', '127.0.0.1:0', '--listen', '127.0.0.1:1'],
        "--listen given more than once ('127.0.0.1:0', '127.0.0.1:1')",
      ],
      [['attach', String(target.port), '--cpu', '1s', '-o', 'a.pb.gz', '-o', 'b.pb.gz'], "--output given more than once ('a.pb.gz', 'b.pb.gz')"],
      [['attach', String(target.port), '--heap', '--heap-window', '1s', '--heap-window=2s'], "--heap-window given more than once ('1s', '2s')"],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { timeoutMs: 30_000 });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect({ args, lines: r.stderr.trimEnd().split('\n') }).toEqual({ args, lines: [`nodeprof: ${message}: give it once`] });
      expect(r.stdout.length).toBe(0);
    }
  }, 120_000);

  test('a value that is not one of the choices: one readable line naming the option, the value and the choices', async () => {
    const cases: Array<[string[], string]> = [
      [
        ['attach', String(target.port), '--cpu', '3s', '--format', 'nope'],
        '--format "nope" is not a choice: use one of pprof, cpuprofile, heapprofile, collapsed, heapsnapshot, trace, html, speedscope',
      ],
      [['serve', '--target', String(target.port), '--heap-mode', 'both'], '--heap-mode "both" is not a choice: use one of inuse, alloc'],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { timeoutMs: 30_000 });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect({ args, lines: r.stderr.trimEnd().split('\n') }).toEqual({ args, lines: [`nodeprof: ${message} (see nodeprof --help)`] });
    }
  }, 120_000);
});
