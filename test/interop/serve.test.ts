// What users run against the facade: `go tool pprof http://…/debug/pprof/<kind>`, symbolization on.
import { afterEach, describe, expect, test } from '@jest/globals';
import { goPprof, parseTop } from '../helpers/gopprof.js';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { killAll, ranFor, startTarget } from '../helpers/processes.js';
import { request, startServe, urlFrom } from '../helpers/serve.js';
import { waitFor } from '../helpers/wait.js';

afterEach(killAll);

/** go tool pprof's stderr without its two progress lines: anything left is a complaint. */
function complaints(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() && !/^Fetching profile over HTTP from /.test(l) && !/^Saved profile in /.test(l))
    .join('\n');
}

describe('go tool pprof against nodeprof serve', () => {
  test('profile: the hot function on top, no symbolization warnings, no /symbol calls', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port);
    const r = await goPprof(['-top', `${s.url}profile?seconds=2`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Type: cpu/);
    expect(parseTop(r.stdout)[0]!.name).toBe('hotFunction');
    expect(complaints(r.stderr)).not.toMatch(/symboliz|warning|unrecognized|failed/i);
    // serve logs a request once its answer is sent, which go tool pprof may beat to the exit.
    await waitFor(() => /GET \/debug\/pprof\/profile\?seconds=2 200/.test(s.stderr()), 10_000, "serve's log line for the request");
    expect(s.stderr()).not.toMatch(/\/symbol/);
  });

  test('heap: the retaining function, inuse_space by default', async () => {
    const t = await startTarget('retain.js');
    const s = await startServe(t.port);
    t.proc.stdin!.write('go\n');
    await t.waitForStdout(/retained \d+/);
    const r = await goPprof(['-top', `${s.url}heap`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Type: inuse_space/);
    expect(parseTop(r.stdout)[0]!.name).toBe('retainMemory');
    expect(complaints(r.stderr)).not.toMatch(/symboliz|warning|unrecognized|failed/i);
  });

  test('allocs in --heap-mode alloc: alloc_space by default, collected garbage included', async () => {
    const t = await startTarget('retain.js');
    const s = await startServe(t.port, ['--heap-mode', 'alloc']);
    // the sampler has seen the garbage churnGarbage makes
    await waitFor(
      async () => byFunction(loadProfile((await request(`${s.url}allocs`)).body), 'alloc_space').cum.has('churnGarbage'),
      30_000,
      'churnGarbage in allocs',
    );
    const r = await goPprof(['-top', `${s.url}allocs`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Type: alloc_space/);
    expect(r.stdout).toMatch(/churnGarbage/);
    expect(complaints(r.stderr)).not.toMatch(/symboliz|warning|unrecognized|failed/i);
    const objects = await goPprof(['-top', '-sample_index=alloc_objects', `${s.url}allocs`]);
    expect(objects.stdout).toMatch(/Type: alloc_objects/);
  });

  test('in-process (--import nodeprof/register): the blocked loop is named while it blocks', async () => {
    const t = await startTarget('inprocess-app.js', { inspect: false, nodeArgs: ['--import', 'nodeprof/register'], env: { NODEPROF_LISTEN: '127.0.0.1:0' } });
    await waitFor(() => /serving http/.test(t.stderr()), 20_000, 'the in-process facade to serve');
    const { url } = urlFrom(t.stderr());
    t.proc.stdin!.write('block\n');
    await t.waitForStdout(/blocking/);
    await ranFor(t.pid, 300); // the loop is blocked, spinning in blockTheLoop
    const r = await goPprof(['-top', `${url}profile?seconds=2`]);
    expect(r.code).toBe(0);
    expect(parseTop(r.stdout)[0]!.name).toBe('blockTheLoop');
    expect(complaints(r.stderr)).not.toMatch(/symboliz|warning|unrecognized|failed/i);
  });
});
