// The pure parts of fleet mode: entry scripts, container ids, label values, service names read from
// package.json, target picks (auto, cmd:<regex>), and the /targets answer.
import { afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeprofError } from '../../src/errors.js';
import { containerIdFromCgroup, entryScript, labelValue, serviceNameOf, type FleetProcess } from '../../src/target/fleet-discovery.js';
import { pickProcess } from '../../src/target/pick.js';
import { parsePick, parseRegex } from '../../src/target/target-spec.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('entry script of a node command line', () => {
  test.each([
    [['node', 'server.js'], 'server.js'],
    [['node', '--inspect=127.0.0.1:0', '-r', 'dotenv/config', 'app/index.js', '--port', '80'], 'app/index.js'],
    [['node', '--require', 'x', '--import', 'y', 'main.mjs'], 'main.mjs'],
    [['node', '--max-old-space-size=4096', '--', '-weird.js'], '-weird.js'],
    [['node', '-e', 'setInterval(()=>{},1000)'], undefined],
    [['node', '-pe', '1'], undefined],
    [['node'], undefined],
  ])('%j -> %s', (argv, script) => {
    expect(entryScript(argv)).toBe(script);
  });
});

describe('container id from /proc/<pid>/cgroup', () => {
  const id = 'a'.repeat(12) + '0123456789abcdef'.repeat(3) + 'b'.repeat(4);
  test.each([
    [`0::/system.slice/docker-${id}.scope`, id],
    [`12:memory:/docker/${id}\n11:cpu:/docker/${id}`, id],
    [`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-${id}.scope`, id],
    [`0::/machine.slice/libpod-${id}.scope/container`, id],
    ['0::/user.slice/user-1000.slice/session-2.scope', null],
    ['0::/', null],
  ])('%s', (text, want) => {
    expect(containerIdFromCgroup(text)).toBe(want);
  });
});

test('label values: control and bidi characters dropped, length bounded', () => {
  expect(labelValue('svc\n\u001b[31mred\u202e')).toBe('svc[31mred');
  expect([...labelValue('x'.repeat(1000))].length).toBe(256);
});

describe('service name', () => {
  function tree(pkg: string | undefined): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-svc-'));
    dirs.push(d);
    fs.mkdirSync(path.join(d, 'app/lib'), { recursive: true });
    if (pkg !== undefined) fs.writeFileSync(path.join(d, 'app/package.json'), pkg);
    return d;
  }
  // This process stands in for the target: same mount namespace, its cwd is read from /proc/self.
  test('the nearest package.json name above the script', async () => {
    const d = tree(JSON.stringify({ name: '@acme/orders' }));
    expect(await serviceNameOf(process.pid, ['node', path.join(d, 'app/lib/main.js')])).toBe('@acme/orders');
  });
  test("no package.json, one without a name, or one that is not JSON: the script's basename", async () => {
    expect(await serviceNameOf(process.pid, ['node', path.join(tree(undefined), 'app/lib/main.js')])).toBe('main.js');
    expect(await serviceNameOf(process.pid, ['node', path.join(tree('{"version":"1.0.0"}'), 'app/lib/main.js')])).toBe('main.js');
    expect(await serviceNameOf(process.pid, ['node', path.join(tree('{not json'), 'app/lib/main.js')])).toBe('main.js');
  });
  test('a FIFO named package.json is never opened (the read would block)', async () => {
    const d = tree(undefined);
    fs.rmSync(path.join(d, 'app/package.json'), { force: true });
    execFileSync('mkfifo', [path.join(d, 'app/package.json')]);
    expect(await serviceNameOf(process.pid, ['node', path.join(d, 'app/lib/main.js')])).toBe('main.js');
  });
  test('no script: node', async () => {
    expect(await serviceNameOf(process.pid, ['node', '-e', '1'])).toBe('node');
  });
});

describe('--target auto and cmd:<regex>', () => {
  const proc = (pid: number, argv: string[]) => ({ pid, argv }) as unknown as FleetProcess;
  const two = async () => [proc(10, ['node', 'api.js']), proc(11, ['node', 'worker.js', '--queue', 'q'])];
  test('parsing', () => {
    expect(parsePick('auto')).toEqual({ kind: 'auto', text: 'auto' });
    expect(parsePick('cmd:worker')?.kind).toBe('cmd');
    expect(parsePick('9229')).toBeUndefined();
    expect(() => parsePick('cmd:(')).toThrow(/^invalid --target cmd:<regex>: \/\(\/: Unterminated group$/);
    expect(() => parsePick('cmd:')).toThrow(/empty/);
    expect(() => parseRegex('[', '--match')).toThrow(/^invalid --match: /);
  });
  test('auto: the only one; none and several are usage errors listing the candidates', async () => {
    expect(await pickProcess(parsePick('auto')!, async () => [proc(7, ['node', 'a.js'])])).toBe(7);
    await expect(pickProcess(parsePick('auto')!, async () => [])).rejects.toThrow(/^--target auto: no Node\.js process besides nodeprof is visible/);
    const several = pickProcess(parsePick('auto')!, two);
    await expect(several).rejects.toThrow(
      '--target auto: 2 candidates, pick one with pid:<PID> or cmd:<regex>: 10 (node api.js), 11 (node worker.js --queue q)',
    );
    await expect(several).rejects.toMatchObject({ exitCode: 2 });
    await expect(several).rejects.toBeInstanceOf(NodeprofError);
  });
  test('cmd: the one whose command line matches', async () => {
    expect(await pickProcess(parsePick('cmd:worker')!, two)).toBe(11);
    await expect(pickProcess(parsePick('cmd:nothing')!, two)).rejects.toThrow(
      /no Node\.js process whose command line matches nothing .*candidates: 10 \(node api\.js\)/,
    );
    await expect(pickProcess(parsePick('cmd:node')!, two)).rejects.toThrow(/2 candidates/);
  });
});
