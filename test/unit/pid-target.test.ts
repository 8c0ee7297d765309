// The pure parts of pid targets: /proc socket tables, inspector options, thread labels, stack lines.
import { describe, expect, test } from '@jest/globals';
import { configuredInspector } from '../../src/target/pid.js';
import { bindCovers, connectHost, parseProcNetTcp } from '../../src/target/proc.js';
import { workerThreadLabel } from '../../src/target/workers.js';
import { frameText } from '../../src/output/stack.js';
import { processTable } from '../../src/output/processes.js';

describe('/proc/net/tcp parsing', () => {
  test('LISTEN rows of tcp and tcp6, with addresses and ports as people write them', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:240D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0',
      '   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4243 1 0000000000000000 100 0 0 10 0',
      '   2: 0100007F:240D 0100007F:D3A2 01 00000000:00000000 00:00000000 00000000     0        0 4244 1 0000000000000000 20 4 30 10 -1',
    ].join('\n');
    expect(parseProcNetTcp(tcp, false)).toEqual([
      { host: '127.0.0.1', port: 9229, inode: 4242 },
      { host: '0.0.0.0', port: 8080, inode: 4243 },
    ]);
    const tcp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000001000000:240D 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1 0000000000000000 100 0 0 10 0',
      '   1: 00000000000000000000000000000000:240E 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5002 1 0000000000000000 100 0 0 10 0',
      '   2: 0000000000000000FFFF00000100007F:240F 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5003 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    expect(parseProcNetTcp(tcp6, true)).toEqual([
      { host: '::1', port: 9229, inode: 5001 },
      { host: '::', port: 9230, inode: 5002 },
      { host: '127.0.0.1', port: 9231, inode: 5003 },
    ]);
  });

  test('wildcard binds cover loopback, and are reached through it', () => {
    expect(bindCovers('0.0.0.0', '127.0.0.1')).toBe(true);
    expect(bindCovers('::', '127.0.0.1')).toBe(true);
    expect(bindCovers('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(bindCovers('10.0.0.5', '127.0.0.1')).toBe(false);
    expect(connectHost('0.0.0.0')).toBe('127.0.0.1');
    expect(connectHost('::')).toBe('::1');
    expect(connectHost('10.0.0.5')).toBe('10.0.0.5');
  });
});

describe('the inspector address a process is configured for', () => {
  test.each([
    [[], { host: '127.0.0.1', port: 9229 }],
    [['--inspect-port=9333'], { host: '127.0.0.1', port: 9333 }],
    [['--inspect-port', '9334'], { host: '127.0.0.1', port: 9334 }],
    [['--inspect=0.0.0.0:9400'], { host: '0.0.0.0', port: 9400 }],
    [['--inspect-brk=[::1]:9401'], { host: '::1', port: 9401 }],
    [['--inspect=9402'], { host: '127.0.0.1', port: 9402 }],
    [['--inspect=0'], { host: '127.0.0.1', port: 0 }],
    [['--max-old-space-size=100', '--inspect'], { host: '127.0.0.1', port: 9229 }],
    // NODE_OPTIONS come first, the command line wins
    [['--inspect-port=9500', '--inspect-port=9501'], { host: '127.0.0.1', port: 9501 }],
  ])('%j', (args, want) => {
    expect(configuredInspector(args as string[])).toEqual(want);
  });
});

describe('labels and lines users read', () => {
  test('worker thread labels: worker <threadId> <name>, the threadId from the title', () => {
    expect(workerThreadLabel({ workerId: '1', title: '[worker 4] late', url: '' })).toBe('worker 4 late');
    expect(workerThreadLabel({ workerId: '1', title: '[worker 1] hasher', url: '' })).toBe('worker 1 hasher');
    expect(workerThreadLabel({ workerId: '3', title: '[worker 3]', url: '' })).toBe('worker 3');
    expect(workerThreadLabel({ workerId: '2', title: '[worker 2] my pool 2', url: '' })).toBe('worker 2 my pool 2');
  });

  test('stack frames as name (path:line:column), 1-based; anonymous functions named by place', () => {
    expect(frameText({ functionName: 'hot', url: 'file:///app/x.js', lineNumber: 7, columnNumber: 4 })).toBe('hot (/app/x.js:8:5)');
    expect(frameText({ functionName: '', url: 'file:///app/x.js', lineNumber: 2, columnNumber: 0 })).toBe('(anonymous x.js:3) (/app/x.js:3:1)');
    expect(frameText({ functionName: 'processImmediate', url: 'node:internal/timers', lineNumber: 482, columnNumber: 20 })).toBe(
      'processImmediate (node:internal/timers:483:21)',
    );
  });

  test('ps table: aligned columns, "-" for a closed inspector', () => {
    const t = processTable([
      { pid: 7, nodeVersion: 'v20.1.0', inspector: null, argv: ['node', 'app.js'] },
      { pid: 12345, nodeVersion: null, inspector: '127.0.0.1:9229', argv: ['node', '--inspect', 'srv.js'] },
    ]);
    expect(t.split('\n')).toEqual([
      'PID    NODE     INSPECTOR       COMMAND',
      '7      v20.1.0  -               node app.js',
      '12345  ?        127.0.0.1:9229  node --inspect srv.js',
      '',
    ]);
  });
});
