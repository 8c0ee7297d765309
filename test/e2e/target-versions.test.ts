// Targets on other Node.js versions than the CLI's own. `npm test` runs a representative subset
// (Node 18, the oldest supported target, and 22, where V8 hides hot loops compiled before attach);
// `npm run test:matrix` runs NODEPROF_TARGET_VERSIONS=18,20,22,24.
import { afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { CLI, ROOT, killAll, runCli, startTarget } from '../helpers/processes.js';
import { stacks } from '../../src/pprof/query.js';

afterEach(killAll);

const majors = (process.env.NODEPROF_TARGET_VERSIONS ?? '18,22').split(',').map((v) => v.trim());

function nodeBinary(major: string): string {
  return execFileSync(process.execPath, [path.join(ROOT, 'scripts/fetch-node.js'), major], { encoding: 'utf8', timeout: 300_000 }).trim();
}

describe.each(majors)('target on Node %s', (major) => {
  const node = nodeBinary(major);

  test('attach --cpu: hot function on top at its line', async () => {
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    expect(version.startsWith(`v${major}.`)).toBe(true);
    const t = await startTarget('busy.js', { node });
    const r = await runCli(['attach', String(t.port), '--cpu', '2s']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const p = loadProfile(r.stdout);
    const { flat, total } = byFunction(p, 'cpu');
    expect(flat.get('hotFunction')! / total).toBeGreaterThan(0.7);
    expect(stacks(p).some((s) => s.frames[0]!.name === 'hotFunction' && s.frames[0]!.line === 8)).toBe(true);
  });

  if (Number(major) >= 22) {
    test('without the JIT reset, V8 blames the caller of a loop optimized before attach (why the reset exists)', async () => {
      const t = await startTarget('busy.js', { node });
      const r = await runCli(['attach', String(t.port), '--cpu', '1s', '--no-jit-reset']);
      expect(r.code).toBe(0);
      const { flat, total } = byFunction(loadProfile(r.stdout), 'cpu');
      expect((flat.get('processImmediate') ?? 0) / total).toBeGreaterThan(0.7);
      expect((flat.get('hotFunction') ?? 0) / total).toBeLessThan(0.2);
    });
  }
});

test('the CLI itself refuses to run on Node 18, in one line', () => {
  const node = nodeBinary('18');
  let stderr = '';
  let status = 0;
  try {
    execFileSync(node, [CLI, 'attach', '9229', '--cpu', '1s'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { status: number; stderr: string };
    status = e.status;
    stderr = e.stderr;
  }
  expect(status).toBe(1);
  expect(stderr).toMatch(/needs Node\.js 20 or newer .*v18\./);
  expect(stderr.trim().split('\n')).toHaveLength(1);
});
