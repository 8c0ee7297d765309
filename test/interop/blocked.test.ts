// go tool pprof on profiles of a target whose event loop was already blocked when nodeprof attached.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { goPprof, parseTop } from '../helpers/gopprof.js';
import { killAll, runCli } from '../helpers/processes.js';
import { startStuckServer } from '../helpers/stuck.js';

afterEach(killAll);

async function profileOfBlocked(extra: string[]): Promise<string> {
  const t = await startStuckServer();
  const { answer } = await t.block('/spin?ms=15000');
  const r = await runCli(['attach', String(t.port), '--cpu', '3s', ...extra]);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/event loop blocked at attach/);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-interop-')), 'cpu.pb.gz');
  fs.writeFileSync(file, r.stdout);
  await expect(answer).resolves.toMatch(/^spun /);
  return file;
}

describe('go tool pprof -top on a blocked target', () => {
  test('the function already running at attach is on top, and -comments says what happened', async () => {
    const file = await profileOfBlocked([]);
    const top = await goPprof(['-top', file]);
    expect(top.code).toBe(0);
    expect(parseTop(top.stdout)[0]!.name).toBe('crunch');
    const comments = await goPprof(['-comments', file]);
    expect(comments.stdout).toMatch(/event loop blocked at attach/);
    expect(comments.stdout).toMatch(/running at attach: crunch/);
    expect(comments.stdout).toMatch(/paused the target for \d+ ms/);
  });

  test('with --no-repair its caller is on top instead', async () => {
    const file = await profileOfBlocked(['--no-repair']);
    const rows = parseTop((await goPprof(['-top', file])).stdout);
    expect(rows[0]!.name).toBe('handleRequest');
    expect(rows.find((r) => r.name === 'crunch')).toBeUndefined();
  });
});
