// Issue 27, defects 8 and 9: the token rule judges the address a --listen name resolves to (not the
// name), weak tokens are refused, and requests a web page sends (cross-site / same-site fetch
// metadata, a foreign Origin, a Host under .localhost) are refused unless they carry the token.
// The rules R10 and R11 of the list in test/e2e/security.test.ts.
import { afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { cpuProfilerThreads } from '../helpers/inspect.js';
import { loadProfile } from '../helpers/profiles.js';
import { killAll, ROOT, runCli, startCli, startTarget } from '../helpers/processes.js';
import { connects, externalAddress, registerServing, request, startServe, urlFrom, type HttpAnswer } from '../helpers/serve.js';

afterEach(killAll);

const FAKE_DNS = path.join(ROOT, 'dist/test/helpers/fake-dns.js');
const STRONG = 'a-token-of-24-characters';

function expectRefused(a: HttpAnswer, reason: RegExp): void {
  expect({ status: a.status, text: a.text }).toEqual({ status: 403, text: expect.stringMatching(reason) });
  expect(a.headers['x-go-pprof']).toBe('1');
  expect(a.headers['content-type']).toBe('text/plain; charset=utf-8');
  expect(a.headers['x-content-type-options']).toBe('nosniff');
}

describe('R10 the loopback rule judges the resolved address; weak tokens are refused', () => {
  test("--listen svc.localhost resolving to this machine's external address: exit 2 without a token, nothing bound; with one it serves there", async () => {
    const t = await startTarget('ticker.js');
    const ext = externalAddress();
    const env = { NODE_OPTIONS: `--import ${FAKE_DNS}`, NODEPROF_TEST_FAKE_DNS: `svc.localhost=${ext}` };
    const refused = startCli(['serve', '--target', String(t.port), '--listen', 'svc.localhost:0'], { env, timeoutMs: 30_000 });
    const r = await refused.done;
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `nodeprof: --listen svc.localhost (${ext}) is reachable from other machines, and the inspector behind nodeprof can run any code in the target: add --token <secret> (or NODEPROF_TOKEN), or listen on 127.0.0.1`,
    ]);
    // with a token: bound on that address (reached here from this machine only)
    const run = startCli(['serve', '--target', String(t.port), '--listen', 'svc.localhost:0', '--token', STRONG, '--quiet'], { env, timeoutMs: 60_000 });
    let err = '';
    run.proc.stderr!.on('data', (d) => (err += d));
    await run.waitForStderr(/serving http:\/\/\S+/, 30_000);
    const { url, port } = urlFrom(err);
    expect(url).toBe(`http://${ext}:${port}/debug/pprof/`);
    expect(await connects(ext, port)).toBe(true);
    expect((await request(`${url}heap`, { headers: { Authorization: `Bearer ${STRONG}`, Host: `svc.localhost:${port}` } })).status).toBe(200);
    run.proc.kill('SIGINT');
    expect((await run.done).code).toBe(0);
    // a name that does resolve to loopback needs none
    const ok = await startServe(t.port, ['--quiet'], env);
    expect((await request(`${ok.url}heap`)).status).toBe(200);
    const lo = startCli(['serve', '--target', String(t.port), '--listen', 'localhost:0', '--quiet'], { timeoutMs: 60_000 });
    await lo.waitForStderr(/serving http:\/\/(127\.0\.0\.1|\[::1\]):\d+/, 30_000);
  }, 120_000);

  test('a token that is short or only whitespace: exit 2 with one line, for serve; register does not serve', async () => {
    const t = await startTarget('ticker.js');
    for (const [token, why] of [
      ['short-token', /^nodeprof: --token is 11 characters long: use at least 16/],
      ['                    ', /^nodeprof: --token is empty or only whitespace$/],
      ['', /^nodeprof: --token is empty or only whitespace$/],
      [` ${STRONG} `, /^nodeprof: --token starts or ends with whitespace/],
    ] as const) {
      const r = await runCli(['serve', '--target', String(t.port), '--listen', '0.0.0.0:0', '--token', token]);
      expect({ token, code: r.code }).toEqual({ token, code: 2 });
      expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(why)]);
    }
    const app = await startTarget('inprocess-app.js', {
      inspect: false,
      nodeArgs: ['--import', 'nodeprof/register'],
      env: { NODEPROF_LISTEN: '127.0.0.1:0', NODEPROF_TOKEN: '   ' },
    });
    for (let i = 0; i < 100 && !/nodeprof/.test(app.stderr()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(app.stderr()).toMatch(/nodeprof\/register: not serving on 127\.0\.0\.1:0: NODEPROF_TOKEN is empty or only whitespace/);
    expect(app.stderr()).not.toMatch(/serving http/);
  }, 120_000);
});

describe('R11 requests a web page sends are refused unless they carry the token', () => {
  // What Chromium sends for <img src="http://aN.localhost:6060/debug/pprof/profile?seconds=5"> on another site.
  const page = (host: string) => ({
    Host: host,
    'Sec-Fetch-Site': 'cross-site',
    'Sec-Fetch-Mode': 'no-cors',
    'Sec-Fetch-Dest': 'image',
    Referer: 'https://attacker.example/',
  });

  test('cross-site and same-site fetch metadata, a foreign Origin, a *.localhost Host: 403 and nothing started in the target; tools (curl, no such headers) and same-origin pages: 200', async () => {
    const t = await startTarget('ticker.js');
    const s = await startServe(t.port, ['--quiet']);
    const host = `127.0.0.1:${s.port}`;
    // the attack of the issue: a page's no-cors request, through a *.localhost name that resolves to loopback
    const attack = await request(`${s.url}profile?seconds=5`, { headers: page(`a7.localhost:${s.port}`) });
    expectRefused(attack, /Sec-Fetch-Site: cross-site: a web page sent this request/);
    expect(cpuProfilerThreads(t.pid)).toBe(0);
    expectRefused(await request(`${s.url}heapsnapshot`, { headers: { 'Sec-Fetch-Site': 'cross-site' } }), /Sec-Fetch-Site: cross-site/);
    // a page on another port of localhost is same-site: refused too
    expectRefused(
      await request(`${s.url}profile?seconds=1`, { headers: { Host: `localhost:${s.port}`, 'Sec-Fetch-Site': 'same-site' } }),
      /Sec-Fetch-Site: same-site/,
    );
    expectRefused(
      await request(`${s.url}symbol`, { method: 'POST', body: '0x1', headers: { Origin: 'https://attacker.example' } }),
      /Origin https:\/\/attacker\.example is not this server/,
    );
    expectRefused(await request(`${s.url}heap`, { headers: { Origin: `http://localhost:${s.port + 1}`, Host: `localhost:${s.port}` } }), /is not this server/);
    expectRefused(await request(`${s.url}heap`, { headers: { Origin: 'null' } }), /Origin null/);
    // older browsers send no fetch metadata: the Host alone
    expectRefused(await request(`${s.url}heap`, { headers: { Host: `a7.localhost:${s.port}` } }), /Host 'a7\.localhost:\d+' is a subdomain of localhost/);
    expect(cpuProfilerThreads(t.pid)).toBe(0);

    // what is not refused: tools, typed URLs, our own index page's links, our own origin
    expect((await request(`${s.url}heap`)).status).toBe(200);
    expect((await request(`${s.url}heap`, { headers: { Host: `localhost:${s.port}` } })).status).toBe(200);
    expect((await request(`${s.url}heap`, { headers: { 'Sec-Fetch-Site': 'none' } })).status).toBe(200);
    expect((await request(`${s.url}heap`, { headers: { 'Sec-Fetch-Site': 'same-origin', Origin: `http://${host}` } })).status).toBe(200);
    expect((await request(`${s.url}symbol`, { method: 'POST', body: '0x1', headers: { Origin: `http://${host}` } })).status).toBe(200);
    const curl = execFileSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${s.url}profile?seconds=1`], { encoding: 'utf8' });
    expect(curl).toBe('200');
    // Alloy's scrape request (its headers, from its source: User-Agent and Accept only)
    const alloy = await request(`${s.url}profile?seconds=1`, { headers: { 'User-Agent': 'GrafanaAlloy/v1.5.0', Accept: '*/*' } });
    expect(alloy.status).toBe(200);
    loadProfile(alloy.body);
    // go tool pprof sends only User-Agent: Go-http-client/1.1
    expect((await request(`${s.url}heap`, { headers: { 'User-Agent': 'Go-http-client/1.1' } })).status).toBe(200);
  }, 120_000);

  test("with --token: a page's request that carries the token is answered; without it refused", async () => {
    const t = await startTarget('ticker.js');
    const s = await startServe(t.port, ['--quiet', '--token', STRONG]);
    expectRefused(await request(`${s.url}heap`, { headers: page(`a7.localhost:${s.port}`) }), /Sec-Fetch-Site/);
    expect((await request(`${s.url}heap?token=${STRONG}`, { headers: page(`a7.localhost:${s.port}`) })).status).toBe(200);
    expect((await request(`${s.url}heap`, { headers: { Authorization: `Bearer ${STRONG}`, Origin: 'https://dashboard.example' } })).status).toBe(200);
    // a wrong token is no token
    expectRefused(await request(`${s.url}heap?token=${STRONG}x`, { headers: { Origin: 'https://dashboard.example' } }), /Origin/);
  }, 120_000);

  test('nodeprof/register refuses them too', async () => {
    const app = await startTarget('inprocess-app.js', { inspect: false, nodeArgs: ['--import', 'nodeprof/register'], env: { NODEPROF_LISTEN: '127.0.0.1:0' } });
    const { url, port } = await registerServing(app);
    expectRefused(await request(`${url}profile?seconds=1`, { headers: page(`a7.localhost:${port}`) }), /Sec-Fetch-Site: cross-site/);
    expect((await request(`${url}heap`)).status).toBe(200);
  }, 120_000);
});
