// `nodeprof top` without a terminal, and with bad input: one line, exit 2, before any attach.
// (The live screen itself is tested in a real terminal: test/interop/top.test.ts.)
import { afterEach, expect, test } from '@jest/globals';
import { cpuProfilerThreads } from '../helpers/inspect.js';
import { killAll, runCli, startTarget } from '../helpers/processes.js';

afterEach(async () => {
  await killAll();
});

test('without a terminal it refuses, says to use attach, and leaves the target alone', async () => {
  const t = await startTarget('busy.js');
  const r = await runCli(['top', String(t.port)]);
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^nodeprof: top needs a terminal .*nodeprof attach <target> --cpu 10s --top/);
  expect(r.stdout.length).toBe(0);
  expect(cpuProfilerThreads(t.pid)).toBe(0);
});

test.each([
  [['top', '9229', '--cpu-interval', 'fast'], /--cpu-interval/],
  [['top', '9229', '--cpu-interval', '5s'], /--cpu-interval/],
  [['top'], /give a target/],
  [['top', 'nope:x'], /invalid target/],
])('nodeprof %j: one line, exit 2', async (args, re) => {
  const r = await runCli(args);
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(re);
});
