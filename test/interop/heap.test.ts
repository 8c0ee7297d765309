// Go's own `go tool pprof` on attach --heap / --allocs output, as users read it.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { goPprof, parseTop } from '../helpers/gopprof.js';
import { killAll, runCli, startCli, startTarget } from '../helpers/processes.js';
import { RETAINED_BYTES } from '../helpers/retain.js';

afterEach(killAll);

const UNIT: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** The flat value of `name` in `go tool pprof -top` output, in its base unit (bytes or count). */
function flatOf(top: string, name: string): number | undefined {
  for (const line of top.split('\n')) {
    const m = /^\s*([\d.]+)(kB|MB|GB|B)?\s+[\d.]+%\s+[\d.]+%\s+\S+\s+[\d.]+%\s+(.+)$/.exec(line);
    if (m && m[3]!.trim() === name) return Number(m[1]) * (m[2] ? UNIT[m[2]]! : 1);
  }
  return undefined;
}

function tmpfile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-interop-')), name);
}

describe('go tool pprof reads attach --heap / --allocs output', () => {
  test('-top -sample_index=inuse_space: retainMemory first, with the retained bytes (±30 %); no warnings', async () => {
    const t = await startTarget('retain.js');
    const file = tmpfile('heap.pb.gz');
    const run = startCli(['attach', String(t.port), '--heap', '--heap-window', '4s', '-o', file]);
    await run.waitForStderr(/heap: sampling allocations from now/);
    t.proc.stdin!.write('go\n');
    await t.waitForStdout(/retained 65536/);
    expect((await run.done).code).toBe(0);

    const top = await goPprof(['-top', '-sample_index=inuse_space', file]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Type: inuse_space/);
    expect(top.stderr).not.toMatch(/symboliz|warning|unrecognized|failed/i);
    expect(parseTop(top.stdout)[0]!.name).toBe('retainMemory');
    const retained = flatOf(top.stdout, 'retainMemory');
    expect(retained).toBeGreaterThan(RETAINED_BYTES * 0.7);
    expect(retained).toBeLessThan(RETAINED_BYTES * 1.3);
    // the default sample type is the space one, as Go's
    const dflt = await goPprof(['-top', file]);
    expect(dflt.stdout).toMatch(/Type: inuse_space/);
    const objects = await goPprof(['-top', '-sample_index=inuse_objects', file]);
    expect(objects.stdout).toMatch(/Type: inuse_objects/);
    expect(flatOf(objects.stdout, 'retainMemory')).toBeGreaterThan(10_000);
  });

  test('--allocs: churnGarbage appears in -top with alloc_space', async () => {
    const t = await startTarget('retain.js');
    const file = tmpfile('allocs.pb.gz');
    expect((await runCli(['attach', String(t.port), '--allocs', '2s', '-o', file])).code).toBe(0);
    const top = await goPprof(['-top', file]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Type: alloc_space/);
    expect(top.stdout).toMatch(/churnGarbage/);
    const peek = await goPprof(['-peek', 'churnGarbage', '-sample_index=alloc_objects', file]);
    expect(peek.code).toBe(0);
    expect(peek.stdout).toMatch(/churnGarbage/);
  });
});
