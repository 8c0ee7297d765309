// serve --all's answers that need no process: the /targets entries and the escaped index page.
import { describe, expect, test } from '@jest/globals';
import { Fleet } from '../../src/serve/fleet.js';

describe('/targets', () => {
  test('Prometheus HTTP SD entries with the path prefix and labels; only served or attaching processes', () => {
    const fleet = new Fleet(
      { listen: { host: '127.0.0.1', port: 6060 }, heapMode: 'inuse', maxSeconds: 300, quiet: true, openInspectors: false },
      () => undefined,
    );
    const base = { argv: ['node', 'x.js'], sameNet: true, netns: 'net:[1]', identity: { startTime: '1', exe: '/usr/bin/node', exeFile: '' } };
    const add = (pid: number, state: string, extra: object) =>
      fleet.members.set(pid, { proc: { ...base, pid, ...extra }, state, reason: '', release: async () => undefined, retryAt: 0, removed: false } as never);
    add(42, 'serving', { serviceName: 'orders', nodeVersion: 'v20.20.2', containerId: 'c'.repeat(64), hostname: 'orders-7d9f' });
    add(43, 'attaching', { serviceName: 'x.js', nodeVersion: null, containerId: null, hostname: null });
    add(44, 'skipped', { serviceName: 'y.js', nodeVersion: null, containerId: null, hostname: null });
    expect(fleet.targets('127.0.0.1:6060')).toEqual([
      {
        targets: ['127.0.0.1:6060'],
        labels: {
          __profile_path_prefix__: '/pid/42',
          service_name: 'orders',
          pid: '42',
          node_version: 'v20.20.2',
          container_id: 'c'.repeat(64),
          hostname: 'orders-7d9f',
        },
      },
      { targets: ['127.0.0.1:6060'], labels: { __profile_path_prefix__: '/pid/43', service_name: 'x.js', pid: '43' } },
    ]);
    // The index escapes what the target controls.
    add(45, 'serving', { serviceName: '<script>alert(1)</script>', nodeVersion: null, containerId: null, hostname: null, argv: ['node', '"><img src=x>'] });
    const page = fleet.indexPage(undefined);
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img');
    expect(page).toContain('&#60;script&#62;');
  });
});
