// go tool pprof on attach --cpu --workers output: the thread label works with -tags and -tagfocus.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { goPprof, parseTop } from '../helpers/gopprof.js';
import { killAll, runCli, startTarget } from '../helpers/processes.js';

afterEach(killAll);

describe('go tool pprof reads attach --cpu --workers output', () => {
  test('-tags lists the threads; -tagfocus picks one thread and its function tops it', async () => {
    const t = await startTarget('workers.js');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-interop-')), 'threads.pb.gz');
    const r = await runCli(['attach', String(t.port), '--cpu', '3s', '--workers', '-o', file]);
    expect(r.code).toBe(0);

    const tags = await goPprof(['-tags', file]);
    expect(tags.code).toBe(0);
    expect(tags.stdout).toMatch(/^\s*thread: Total/m);
    expect(tags.stdout).toMatch(/^\s+\S+ \(\s*[\d.]+%\): main$/m);
    expect(tags.stdout).toMatch(/^\s+\S+ \(\s*[\d.]+%\): worker 1 hasher$/m);
    expect(tags.stderr).not.toMatch(/warning|symboliz/i);

    const main = await goPprof(['-top', '-tagfocus=thread=main', file]);
    expect(main.code).toBe(0);
    expect(parseTop(main.stdout)[0]!.name).toBe('mainHotFunction');
    expect(main.stdout).not.toMatch(/workerHotFunction/);

    const worker = await goPprof(['-top', '-tagfocus=thread=worker 1 hasher', file]);
    expect(worker.code).toBe(0);
    expect(parseTop(worker.stdout)[0]!.name).toBe('workerHotFunction');
    expect(worker.stdout).not.toMatch(/mainHotFunction/);
  });
});
