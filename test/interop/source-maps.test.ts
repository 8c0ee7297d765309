// go tool pprof on profiles of TypeScript and bundled targets: -raw names the .ts file and line,
// -list shows the TypeScript source with the time on the hot line.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { goPprof, parseTop } from '../helpers/gopprof.js';
import { killAll, runCli, startTarget } from '../helpers/processes.js';
import { hotSpot, sm } from '../helpers/source-maps.js';

afterEach(killAll);

describe.each([
  ['tsc CommonJS, map files', 'tsc-cjs/main.js', 'src/tsc-cjs/hot.ts'],
  ['tsc ESM, inline maps', 'tsc-esm-inline/main.js', 'src/tsc-esm-inline/hot.ts'],
  ['esbuild bundle', 'bundle/bundle.js', 'src/bundle/b.ts'],
])('go tool pprof on a %s target', (_what, fixture, tsFile) => {
  test('-top, -raw and -list name the .ts file and line of the hot function', async () => {
    const ts = hotSpot(sm(tsFile));
    const t = await startTarget(path.join('sourcemaps', fixture));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-interop-sm-')), 'cpu.pb.gz');
    const r = await runCli(['attach', String(t.port), '--cpu', '2s', '-o', file]);
    expect(r.code).toBe(0);

    const top = await goPprof(['-top', file]);
    expect(top.code).toBe(0);
    expect(parseTop(top.stdout)[0]!.name).toBe('hotFunction');
    expect(top.stderr).not.toMatch(/symboliz|warning|unrecognized|failed/i);

    const raw = await goPprof(['-raw', file]);
    expect(raw.stdout).toContain(`hotFunction ${ts.file}:${ts.hotLine} s=${ts.startLine}`);
    expect(raw.stdout).not.toMatch(/\.js:\d+ s=\d+\n/);

    const list = await goPprof(['-list', '^hotFunction$', file]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`ROUTINE ======================== hotFunction in ${ts.file}`);
    // go tool pprof read the TypeScript from disk: the hot line's source text, with time on it
    const hotRow = list.stdout.split('\n').find((l) => new RegExp(`^\\s+\\S+\\s+\\S+\\s+${ts.hotLine}:`).test(l));
    expect(hotRow).toBeDefined();
    expect(hotRow).toContain('Math.sqrt(i) * Math.sin(i); // HOT LINE');
    expect(hotRow).not.toMatch(/^\s+\.\s+\.\s+\d+:/);
  });
});
