// The facade's security rules (DESIGN section 2), the parts that need no process: the route table,
// the token compare, the Host check, the listen rule. The rules and the test for each are listed
// in test/e2e/security.test.ts.
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../src/errors.js';
import { optionsFromEnv } from '../../src/serve/in-process.js';
import { findRoute, ROUTES } from '../../src/serve/routes.js';
import { browserRefusal, hostAllowed, isLoopbackHost, MIN_TOKEN_LENGTH, requestToken, tokenMatches, tokenProblem } from '../../src/serve/security.js';
import { isLoopbackAddress } from '../../src/serve/listen.js';
import { pprofHandler } from '../../src/index.js';
import { checkServePlan, type ServePlan } from '../../src/serve/serve.js';
import { ROOT } from '../helpers/processes.js';
import { DOCUMENTED_ROUTES } from '../helpers/routes.js';
import type { IncomingMessage } from 'node:http';

function sources(dir: string): Array<[string, string]> {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e): Array<[string, string]> => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [[path.relative(ROOT, p), fs.readFileSync(p, 'utf8')]] : [];
  });
}

describe('R1 the facade never forwards raw CDP: a closed route table', () => {
  test('the table is exactly the documented profiles; nothing else (json, json/version, ws, devtools) is a route', () => {
    expect(ROUTES.map((r) => r.name).sort()).toEqual([...DOCUMENTED_ROUTES].sort());
    for (const name of ['json', 'json/version', 'json/list', 'json/protocol', 'ws', 'devtools', 'inspector', 'cdp', 'evaluate', '']) {
      expect(findRoute(name)).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.webSegment(), fc.constantFrom(...DOCUMENTED_ROUTES)), (name) => {
        expect(findRoute(name) !== undefined).toBe(DOCUMENTED_ROUTES.includes(name));
      }),
      { numRuns: 500 },
    );
  });

  test('only POST /symbol reads a body, and it only looks addresses up', () => {
    expect(ROUTES.filter((r) => r.post).map((r) => r.name)).toEqual(['symbol']);
  });

  test('no facade source hands a request value to the inspector: Runtime.evaluate only with constant expressions', () => {
    // The grep side of the e2e check (which records the CDP traffic of generated requests).
    // collect/stack.ts: goroutine's stack reader, the facade's one evaluate of its own.
    const stackReader = path.join(ROOT, 'src/collect/stack.ts');
    const serveSources = [
      ...sources(path.join(ROOT, 'src/serve')),
      [path.relative(ROOT, stackReader), fs.readFileSync(stackReader, 'utf8')] as [string, string],
    ];
    expect(serveSources.length).toBeGreaterThan(5);
    for (const [file, text] of serveSources) {
      for (const m of text.matchAll(/Runtime\.(callFunctionOn|compileScript|runScript)|Debugger\.(evaluateOnCallFrame|setScriptSource|setBreakpoint)/g)) {
        throw new Error(`${file} uses ${m[0]}`);
      }
      // every evaluate's expression is a named constant (EXPRESSION in collect/stack.ts), never built from a request
      // (the one `expression: string` is the parameter's type)
      for (const m of text.matchAll(/expression:\s*([^,};]+)/g)) {
        if (m[1]!.trim() !== 'string') expect({ file, expression: m[1]!.trim() }).toEqual({ file, expression: 'EXPRESSION' });
      }
    }
  });
});

describe('R3 a non-loopback listen address needs a token', () => {
  const plan = (host: string, token?: string): ServePlan => ({
    target: { kind: 'address', host: '127.0.0.1', port: 1, text: '1' },
    listen: { host, port: 0 },
    token,
    heapMode: 'inuse',
    maxSeconds: 1,
    quiet: true,
  });

  const STRONG = 'a-token-of-24-characters';
  const refused = async (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (err: unknown) => err,
    );

  test('R10 decided on the address a name resolves to: any address outside 127/8 and ::1 needs --token, whatever the name', async () => {
    const loopbackAddress = fc.oneof(
      fc.ipV4().map((a) => `127.${a.split('.').slice(1).join('.')}`),
      fc.constantFrom('::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'),
    );
    const anyAddress = fc.oneof(loopbackAddress, fc.ipV4(), fc.ipV6(), fc.constantFrom('0.0.0.0', '::', '10.77.0.1'));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.domain(),
          fc.domain().map((d) => `${d}.localhost`),
          fc.constantFrom('localhost', 'svc.localhost', 'a.localhost'),
        ),
        anyAddress,
        async (name, address) => {
          const lookup = async (h: string) => {
            expect(h).toBe(name);
            return { address, family: address.includes(':') ? 6 : 4 };
          };
          const loopback = address === '::1' || address === '0:0:0:0:0:0:0:1' || /^(::ffff:)?127\./.test(address);
          expect(isLoopbackAddress(address)).toBe(loopback);
          // without a token the name must be a loopback one too (example.com is refused without a look-up)
          if (!isLoopbackHost(name)) {
            expect(
              await refused(
                checkServePlan(plan(name), async () => {
                  throw new Error('looked up');
                }),
              ),
            ).toBeInstanceOf(UsageError);
            expect(await checkServePlan(plan(name, STRONG), lookup)).toEqual({ host: address, port: 0 });
            return;
          }
          const err = await refused(checkServePlan(plan(name), lookup));
          if (loopback) expect(err).toBeUndefined();
          else expect(err).toBeInstanceOf(UsageError);
          expect(await checkServePlan(plan(name, STRONG), lookup)).toEqual({ host: address, port: 0 });
        },
      ),
      { numRuns: 500 },
    );
    // the defect: a loopback-looking name resolving elsewhere
    const err = await refused(checkServePlan(plan('svc.localhost'), async () => ({ address: '10.77.0.1', family: 4 })));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
      '--listen svc.localhost (10.77.0.1) is reachable from other machines, and the inspector behind nodeprof can run any code in the target: add --token <secret> (or NODEPROF_TOKEN), or listen on 127.0.0.1',
    );
    // IP literals are not looked up
    for (const ip of ['0.0.0.0', '::', '192.0.2.1', '127.0.0.1', '::1']) {
      const lookup = async () => {
        throw new Error('looked up');
      };
      const e = await refused(checkServePlan(plan(ip), lookup));
      expect({ ip, refused: e instanceof UsageError }).toEqual({ ip, refused: !isLoopbackAddress(ip) });
    }
  });

  test('R10 a token shorter than 16 characters, only whitespace, or with whitespace at an end is refused (usage error)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), async (token) => {
        const ok = token.trim() === token && [...token].length >= MIN_TOKEN_LENGTH;
        expect(tokenProblem(token) === undefined).toBe(ok);
        const err = await refused(checkServePlan(plan('127.0.0.1', token)));
        if (ok) expect(err).toBeUndefined();
        else expect(err).toBeInstanceOf(UsageError);
      }),
      { numRuns: 500 },
    );
    expect(tokenProblem('   ')).toBe('is empty or only whitespace');
    expect(tokenProblem('')).toBe('is empty or only whitespace');
    expect(tokenProblem('0123456789abcde')).toMatch(/^is 15 characters long: use at least 16/);
    expect(tokenProblem('0123456789abcdef')).toBeUndefined();
    expect(tokenProblem(undefined)).toBeUndefined();
    // the library entry refuses it too, before anything is started in the process
    expect(() => pprofHandler({ token: 'short' })).toThrow(/^nodeprof: pprofHandler's token is 5 characters long: use at least 16/);
  });

  test('isLoopbackHost still names loopback names (the Host check)', () => {
    for (const h of ['localhost', 'a.localhost', '::1', '127.9.9.9']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', 'example.com', 'localhost.example']) expect(isLoopbackHost(h)).toBe(false);
  });

  test('R2 defaults: serve and nodeprof/register listen on 127.0.0.1:6060', () => {
    expect(optionsFromEnv({}).listen).toBe('127.0.0.1:6060');
    expect(fs.readFileSync(path.join(ROOT, 'src/cli/serve.ts'), 'utf8')).toMatch(/option\('listen', \{[^}]*default: '127\.0\.0\.1:6060'/);
  });
});

describe('R5 the token is compared in constant time', () => {
  test('tokenMatches is equality, for any two strings of any lengths (never throws on a length mismatch)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 64 });
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(tokenMatches(a, b)).toBe(a === b);
        expect(tokenMatches(b, b)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('it is timingSafeEqual over fixed-length digests, and no other code compares a token', () => {
    const security = fs.readFileSync(path.join(ROOT, 'src/serve/security.ts'), 'utf8');
    const fn = /export function tokenMatches[\s\S]*?\n}/.exec(security)![0];
    expect(fn).toMatch(/timingSafeEqual\(digest\(given\), digest\(token\)\)/);
    expect(security).toMatch(/createHash\('sha256'\)/);
    for (const [file, text] of [
      ...sources(path.join(ROOT, 'src')),
      ['src/index.ts', fs.readFileSync(path.join(ROOT, 'src/index.ts'), 'utf8')] as [string, string],
    ]) {
      // ===, !==, ==, startsWith, includes, localeCompare next to a token: a comparison that stops early
      const direct =
        /\btoken\b[\w.?!]*\s*(===?|!==?)|(===?|!==?)\s*[\w.]*\btoken\b(?!\s*(===?|!==?)\s*undefined)|\btoken\w*\.(startsWith|includes|localeCompare|endsWith)\(/g;
      for (const m of text.matchAll(direct)) {
        const line = text.slice(text.lastIndexOf('\n', m.index) + 1, text.indexOf('\n', m.index));
        // `token !== undefined` (is one configured?) is not a comparison of its value
        if (/token\s*!==?\s*undefined|undefined\s*!==?\s*[\w.]*token/.test(line)) continue;
        throw new Error(`${file}: a token compared directly: ${line.trim()}`);
      }
    }
  });

  test('the token comes from Authorization: Bearer or ?token=, exactly as sent', () => {
    const tok = fc.stringMatching(/^[\x21-\x7e]{1,40}$/);
    fc.assert(
      fc.property(tok, tok, (header, query) => {
        const req = (auth?: string) => ({ headers: auth ? { authorization: auth } : {} }) as IncomingMessage;
        const q = new URLSearchParams([['token', query]]);
        expect(requestToken(req(`Bearer ${header}`), q)).toBe(header);
        expect(requestToken(req(`bearer  ${header}`), new URLSearchParams())).toBe(header);
        expect(requestToken(req(), new URLSearchParams(q.toString()))).toBe(query);
        expect(requestToken(req(`Basic ${header}`), new URLSearchParams())).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});

describe('R6 the Host header: loopback names, IP literals and our own names only (DNS rebinding)', () => {
  const me = os.hostname().toLowerCase();
  test('any other DNS name is refused, with or without a port; IP literals and loopback names pass', () => {
    fc.assert(
      fc.property(fc.domain(), fc.option(fc.integer({ min: 1, max: 65535 })), (name, port) => {
        const header = port === null ? name : `${name}:${port}`;
        const loopback = name === 'localhost' || name.endsWith('.localhost');
        expect(hostAllowed(header, {})).toBe(loopback || name === me);
        expect(hostAllowed(header, { listenHost: name })).toBe(true);
        expect(hostAllowed(header.toUpperCase(), { hosts: [name] })).toBe(true);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.ipV4(),
          fc.ipV6().map((a) => `[${a}]`),
        ),
        fc.integer({ min: 1, max: 65535 }),
        (ip, port) => {
          expect(hostAllowed(`${ip}:${port}`, {})).toBe(true);
          expect(hostAllowed(ip, {})).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
    expect(hostAllowed('localhost.evil.example:80', {})).toBe(false);
    expect(hostAllowed('127.0.0.1.nip.io:80', {})).toBe(false);
  });
});

describe('R11 requests a web page sends: refused unless they carry the token (the handler checks it)', () => {
  const req = (headers: Record<string, string>) =>
    ({ headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) }) as unknown as IncomingMessage;
  test('fetch metadata other than same-origin and none', () => {
    for (const site of ['cross-site', 'same-site', 'Cross-Site', 'something-new'])
      expect(browserRefusal(req({ Host: '127.0.0.1:6060', 'Sec-Fetch-Site': site }), {})).toMatch(/^Sec-Fetch-Site: /);
    for (const site of ['same-origin', 'none']) expect(browserRefusal(req({ Host: '127.0.0.1:6060', 'Sec-Fetch-Site': site }), {})).toBeUndefined();
  });

  test('an Origin other than http(s)://<Host>', () => {
    const at = (origin: string, host = '127.0.0.1:6060') => browserRefusal(req({ Host: host, Origin: origin }), {});
    expect(at('http://127.0.0.1:6060')).toBeUndefined();
    expect(at('http://LOCALHOST:6060', 'localhost:6060')).toBeUndefined();
    expect(at('http://[::1]:6060', '[::1]:6060')).toBeUndefined();
    expect(at('https://app.example', 'app.example')).toBeUndefined();
    expect(at('https://app.example', 'app.example:443')).toBeUndefined();
    for (const o of [
      'http://127.0.0.1:6061',
      'https://127.0.0.1:6061',
      'http://localhost:6060',
      'ftp://127.0.0.1:6060',
      'null',
      'https://attacker.example',
      'garbage',
    ])
      expect(at(o)).toMatch(/^Origin .* is not this server/);
    expect(browserRefusal(req({ Origin: 'http://127.0.0.1:6060' }), {})).toMatch(/^Origin/);
  });

  test('Host names under .localhost other than localhost, unless it is the listen name', () => {
    fc.assert(
      fc.property(fc.domain(), fc.option(fc.integer({ min: 1, max: 65535 })), (name, port) => {
        const sub = `${name}.localhost`;
        const host = port === null ? sub : `${sub}:${port}`;
        expect(browserRefusal(req({ Host: host }), {})).toMatch(/is a subdomain of localhost/);
        expect(browserRefusal(req({ Host: host.toUpperCase() }), { listenHost: sub })).toBeUndefined();
      }),
      { numRuns: 300 },
    );
    for (const h of ['localhost', 'localhost:6060', '127.0.0.1:6060', '[::1]:6060', 'myhost:6060'])
      expect(browserRefusal(req({ Host: h }), {})).toBeUndefined();
  });

  test('tools send none of these headers: go tool pprof, curl, Alloy', () => {
    for (const ua of ['Go-http-client/1.1', 'curl/8.5.0', 'GrafanaAlloy/v1.5.0'])
      expect(browserRefusal(req({ Host: '127.0.0.1:6060', 'User-Agent': ua, Accept: '*/*' }), {})).toBeUndefined();
    expect(browserRefusal(req({}), {})).toBeUndefined();
  });
});
