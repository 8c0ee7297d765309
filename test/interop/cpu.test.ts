// What our users run: Go's own `go tool pprof` on profiles written by `nodeprof attach`.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { goPprof, parseTop } from '../helpers/gopprof.js';
import { FIXTURES, killAll, runCli, startTarget } from '../helpers/processes.js';

afterEach(killAll);

describe('go tool pprof reads attach --cpu output', () => {
  test('stdout redirected to a file: -top puts the hot function first, -raw has its file:line, no warnings', async () => {
    const t = await startTarget('busy.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-interop-'));
    const r = await runCli(['attach', String(t.port), '--cpu', '2s']);
    expect(r.code).toBe(0);
    const file = path.join(dir, 'cpu.pb.gz');
    fs.writeFileSync(file, r.stdout);

    const top = await goPprof(['-top', file]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Type: cpu/);
    const rows = parseTop(top.stdout);
    expect(rows[0]!.name).toBe('hotFunction');
    expect(rows[0]!.flatPct).toBeGreaterThan(70);
    // Symbolization stays on, as users run it: it must neither warn nor try to symbolize.
    expect(top.stderr).not.toMatch(/symboliz|warning|unrecognized|failed/i);

    const raw = await goPprof(['-raw', file]);
    expect(raw.stdout).toContain(`hotFunction ${path.join(FIXTURES, 'busy.js')}:8`);
    expect(raw.stdout).toMatch(/samples\/count cpu\/nanoseconds\[dflt\]/);

    const list = await goPprof(['-list', '^hotFunction$', file]);
    expect(list.code).toBe(0);
    // the loop body (line 8) carries the time
    const line8 = list.stdout.split('\n').find((l) => /^\s+\S+\s+\S+\s+8:/.test(l));
    expect(line8).toBeDefined();
    expect(line8).not.toMatch(/^\s+\.\s+\.\s+8:/);
  });

  test('-o file and go tool pprof -traces', async () => {
    const t = await startTarget('busy.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-interop-'));
    const file = path.join(dir, 'cpu.pb.gz');
    expect((await runCli(['attach', String(t.port), '--cpu', '1s', '-o', file])).code).toBe(0);
    const traces = await goPprof(['-traces', file]);
    expect(traces.code).toBe(0);
    expect(traces.stdout).toMatch(/hotFunction\n\s+processImmediate/);
  });
});
