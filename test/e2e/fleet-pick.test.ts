// --target auto and --target cmd:<regex>. This machine runs many Node processes, so auto is tested
// in a PID namespace of its own (unshare --pid --fork --mount-proc: its /proc shows only what runs
// inside), the sidecar case: nodeprof and one app, then none, then two.
import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { CLI, FIXTURES, killAll, runCli, startTarget } from '../helpers/processes.js';

afterEach(killAll);

/** Runs `sh -c script` in a new PID namespace; resolves with its exit code and output. */
function inPidNamespace(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const node = JSON.stringify(process.execPath);
const cli = JSON.stringify(CLI);
const busy = JSON.stringify(path.join(FIXTURES, 'busy.js'));
// An app with its inspector open on a free port; `ready` waits until each has said it runs.
let apps = 0;
const app = (extra = '') => `: > "$d/${apps}"; ${node} --inspect=127.0.0.1:0 ${busy} ${extra} > "$d/${apps++}" 2>&1 &`;
const ready = 'for f in "$d"/*; do until grep -q ready "$f"; do sleep 0.05; done; done;';
const tmp = 'd=$(mktemp -d); trap "rm -rf \\"$d\\"" EXIT;';

describe('--target auto (its own PID namespace)', () => {
  test('the only Node process: stack reaches it, pid as that namespace numbers it', async () => {
    const r = await inPidNamespace(`${tmp} ${app()} ${ready} ${node} ${cli} stack auto; echo "exit $?"`);
    expect(r.stdout).toMatch(/hotFunction/);
    expect(r.stdout).toMatch(/exit 0/);
  });

  test('none: one line, exit 2', async () => {
    const r = await inPidNamespace(`${node} ${cli} stack auto`);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^nodeprof: --target auto: no Node\.js process besides nodeprof is visible/)]);
  });

  test('several: one line listing the candidates, exit 2', async () => {
    const r = await inPidNamespace(`${tmp} ${app('first')} ${app('second')} ${ready} ${node} ${cli} serve --target auto --listen 127.0.0.1:0`);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^nodeprof: --target auto: 2 candidates, pick one with pid:<PID> or cmd:<regex>: \d+ \(\S*node --inspect=127\.0\.0\.1:0 .*\), \d+ \(.*\)$/,
    );
  });
});

describe('--target cmd:<regex>', () => {
  test('the process whose command line matches', async () => {
    const tag = `fleet-pick-${process.pid}-${Date.now()}`;
    const t = await startTarget('busy.js', { args: [tag] });
    const r = await runCli(['stack', `cmd:busy\\.js ${tag}$`, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.toString()).pid).toBe(t.pid);
  });

  test('a bad regular expression, and one that matches nothing: one line, exit 2', async () => {
    const bad = await runCli(['attach', 'cmd:(unclosed', '--cpu', '1s']);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 2, stderr: 'nodeprof: invalid --target cmd:<regex>: /(unclosed/: Unterminated group\n' });
    const none = await runCli(['stack', `cmd:no-such-process-${process.pid}-${Date.now()}`]);
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/^nodeprof: --target cmd:no-such-process-.*: no Node\.js process whose command line matches/);
  });
});
