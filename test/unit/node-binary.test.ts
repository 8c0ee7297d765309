// Telling Node from a program named node without running it, a pid's identity, and reading Node's
// /json/list when a script path put control characters into it.
import { describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { escapeControlsInStrings, findInspectorTarget, parseLenient } from '../../src/target/discover.js';
import { fileVersion, fuseDevices, nodeVersionOfFile, parseMaps, processIdentity, sameIdentity } from '../../src/target/node-binary.js';

async function versionOf(file: string): Promise<string | null> {
  const h = await fs.open(file, 'r');
  try {
    return await nodeVersionOfFile(h);
  } finally {
    await h.close();
  }
}

describe('the Node version from the binary, without running it', () => {
  test('this node carries its own version; sh, and a file that only mentions the marker outside .rodata, do not', async () => {
    expect(await versionOf(process.execPath)).toBe(process.version);
    expect(await versionOf('/bin/sh')).toBeNull();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nodeprof-nb-'));
    try {
      const text = path.join(dir, 'node');
      await fs.writeFile(text, 'node.js/v1.2.3\0 not an ELF file');
      expect(await versionOf(text)).toBeNull();
      // an ELF header claiming absurd section tables is given up on, not followed
      const bad = Buffer.alloc(64);
      bad.write('\x7fELF', 0, 'latin1');
      bad[4] = 2;
      bad[5] = 1;
      bad.writeBigUInt64LE(1n << 50n, 0x28);
      bad.writeUInt16LE(64, 0x3a);
      bad.writeUInt16LE(60000, 0x3c);
      await fs.writeFile(path.join(dir, 'bad'), bad);
      expect(await versionOf(path.join(dir, 'bad'))).toBeNull();
    } finally {
      await fs.rm(dir, { recursive: true });
    }
  });
});

describe('/proc parsing', () => {
  test('maps: file-backed mappings with decimal devices; paths with spaces', () => {
    const maps = [
      '55d99a217000-55d99a21b000 r--p 00000000 fd:01 1234    /usr/bin/no de',
      '7f00-7f10 rw-p 00000000 00:00 0 ',
      '7f10-7f20 r-xp 00001000 00:2d 99    /usr/lib/libnode.so.109 (deleted)',
    ].join('\n');
    expect(parseMaps(maps)).toEqual([
      { range: '55d99a217000-55d99a21b000', dev: '253:1', inode: 1234, path: '/usr/bin/no de' },
      { range: '7f10-7f20', dev: '0:45', inode: 99, path: '/usr/lib/libnode.so.109 (deleted)' },
    ]);
  });

  test('mountinfo: the devices of FUSE mounts', () => {
    const info = [
      '22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
      '90 22 0:45 / /home/alice/mnt rw,nosuid,nodev,relatime shared:50 - fuse.sshfs alice@h: rw,user_id=1000',
      '91 22 0:46 / /mnt/x rw - fuse /dev/fuse rw',
    ].join('\n');
    expect([...fuseDevices(info)].sort()).toEqual(['0:45', '0:46']);
  });
});

describe('pid identity', () => {
  test('stable for a running process; changed by an exec; undefined once gone', async () => {
    const me = processIdentity(process.pid);
    expect(me).toBeDefined();
    expect(me!.exe).toBe(await fs.realpath(process.execPath));
    expect(sameIdentity(me, processIdentity(process.pid))).toBe(true);

    const child = spawn('sh', ['-c', 'read x; exec sleep 60'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const shell = await (async () => {
      for (let i = 0; i < 200; i++) {
        const id = processIdentity(child.pid!);
        if (id && !id.exe.includes(path.basename(process.execPath))) return id;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('sh did not start');
    })();
    child.stdin!.write('go\n');
    let after = processIdentity(child.pid!);
    for (let i = 0; i < 200 && after?.exe === shell.exe; i++) {
      await new Promise((r) => setTimeout(r, 10));
      after = processIdentity(child.pid!);
    }
    expect(after!.startTime).toBe(shell.startTime);
    expect(sameIdentity(shell, after)).toBe(false);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(processIdentity(child.pid!)).toBeUndefined();
  });
});

describe('/json/list as Node writes it for a script path with control characters', () => {
  test('parsed leniently: raw control bytes inside strings are taken as escapes; the rest is untouched', () => {
    const raw = '[ {\n  "title": "/tmp/a\x1b[31mb\x07\x01\nc/busy.js",\n  "type": "node",\n  "webSocketDebuggerUrl": "ws://127.0.0.1:9229/1b706a5f"\n} ]\n';
    expect(() => JSON.parse(raw)).toThrow();
    expect(parseLenient(raw)).toEqual([{ title: '/tmp/a\x1b[31mb\x07\x01\nc/busy.js', type: 'node', webSocketDebuggerUrl: 'ws://127.0.0.1:9229/1b706a5f' }]);
    expect(escapeControlsInStrings('{"a": "x\\"\ty"}\n')).toBe('{"a": "x\\"\\u0009y"}\n');
    expect(() => parseLenient('{"a": 1')).toThrow();
  });
});

describe('/json/list reads are bounded', () => {
  async function server(handler: http.RequestListener): Promise<{ port: number; close: () => void }> {
    const s = http.createServer(handler);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return {
      port: (s.address() as AddressInfo).port,
      close: () => {
        s.closeAllConnections();
        s.close();
      },
    };
  }

  test('an answer dripped a byte at a time ends at the time bound; one over 1 MiB is refused', async () => {
    const drip = await server((_req, res) => {
      res.writeHead(200);
      const t = setInterval(() => res.write(' '), 200);
      res.on('close', () => clearInterval(t));
    });
    const huge = await server((_req, res) => {
      res.writeHead(200);
      res.end(`["${'x'.repeat(2 << 20)}"]`);
    });
    try {
      const started = Date.now();
      await expect(findInspectorTarget('127.0.0.1', drip.port)).rejects.toThrow(/did not answer within 4s/);
      expect(Date.now() - started).toBeLessThan(6000);
      await expect(findInspectorTarget('127.0.0.1', huge.port)).rejects.toThrow(/is not a Node\.js inspector/);
    } finally {
      drip.close();
      huge.close();
    }
  }, 20_000);
});

describe('the version read once per file', () => {
  test('a read that could not open the file through one process is not kept for the others', async () => {
    // `ps` as CI saw it: the first process mapping /usr/bin/node exited before its exe was opened,
    // and every Node process's version showed as unknown.
    expect(await fileVersion('t1', async () => undefined)).toBeUndefined();
    expect(await fileVersion('t1', async () => 'v20.20.2')).toBe('v20.20.2');
    // read once: later readers get the kept answer, whatever theirs would say
    expect(await fileVersion('t1', () => Promise.reject(new Error('not read again')))).toBe('v20.20.2');
  });

  test('callers sharing a read that failed try once with their own', async () => {
    let failFirst!: (v: undefined) => void;
    const first = fileVersion('t2', () => new Promise<undefined>((r) => (failFirst = r)));
    const second = fileVersion('t2', async () => 'v22.23.3');
    failFirst(undefined);
    expect(await first).toBeUndefined();
    expect(await second).toBe('v22.23.3');
    expect(await fileVersion('t2', async () => undefined)).toBe('v22.23.3');
  });

  test('a file whose bytes carry no version is kept as null (it will not say more next time)', async () => {
    expect(await fileVersion('t3', async () => null)).toBeNull();
    expect(await fileVersion('t3', async () => 'v1.0.0')).toBeNull();
  });
});
