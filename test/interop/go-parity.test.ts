// Go's text profiles and Go's HTTP answers: `go tool pprof` reads serve's heap?debug=1 and
// goroutine?debug=1 (it said "unrecognized profile format" before), and where a client could
// depend on how Go's net/http/pprof answers (docs/go-parity.md), serve answers the same way as a
// real Go program serving it, built here.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { goPprof, parseTop } from '../helpers/gopprof.js';
import { killAll, startTarget } from '../helpers/processes.js';
import { request, startServe, type HttpAnswer } from '../helpers/serve.js';
import { waitFor } from '../helpers/wait.js';

/** go tool pprof's stderr without its progress lines: anything left is a complaint. */
function complaints(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() && !/^Fetching profile over HTTP from /.test(l) && !/^Saved profile in /.test(l))
    .join('\n');
}

describe('go tool pprof reads the debug=1 text', () => {
  afterEach(killAll);

  test('heap?debug=1: the retaining function on top, names from /symbol, the same bytes as the binary heap', async () => {
    const t = await startTarget('retain.js');
    const s = await startServe(t.port);
    t.proc.stdin!.write('go\n');
    await t.waitForStdout(/retained \d+/);
    const text = await goPprof(['-top', '-sample_index=space', `${s.url}heap?debug=1`]);
    expect(text.code).toBe(0);
    expect(complaints(text.stderr)).not.toMatch(/unrecognized|failed|error/i);
    expect(text.stdout).toMatch(/Type: space/);
    expect(parseTop(text.stdout)[0]!.name).toBe('retainMemory');
    // the text's addresses resolve through /symbol to the names the binary answer gives them
    await waitFor(() => /POST \/debug\/pprof\/symbol 200/.test(s.stderr()), 10_000, "serve's log line for /symbol");
    const raw = await goPprof(['-raw', `${s.url}heap?debug=1`]);
    expect(raw.stdout).toMatch(/^PeriodType: space bytes$/m);
    expect(raw.stdout).toMatch(/^objects\/count space\/bytes$/m);
    // retainMemory's bytes as the text gives them, and as the binary answer does (the heap is still)
    const total = (out: string) => Number(/of ([\d.]+)MB total/.exec(out)?.[1]);
    const binary = await goPprof(['-top', '-sample_index=inuse_space', `${s.url}heap`]);
    expect(Math.abs(total(text.stdout) - total(binary.stdout)) / total(binary.stdout)).toBeLessThan(0.1);
  });

  test('goroutine?debug=1: one goroutine per JavaScript thread, named through /symbol', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port);
    const r = await goPprof(['-raw', `${s.url}goroutine?debug=1`]);
    expect(r.code).toBe(0);
    expect(complaints(r.stderr)).not.toMatch(/unrecognized|failed|error/i);
    expect(r.stdout).toMatch(/^PeriodType: goroutine count$/m);
    expect(r.stdout).toMatch(/^\s+1: 1 2? ?/m);
    // busy.js spins in hotFunction or waits between rounds: a named frame either way
    expect(r.stdout).toMatch(/^\s+\d+: 0x[0-9a-f]+ M=1 (hotFunction|\(idle\)|\S+) /m);
    const top = await goPprof(['-top', `${s.url}goroutine?debug=1`]);
    expect(top.stdout).toMatch(/Showing nodes accounting for 1, 100% of 1 total/);
  });
});

// A Go program serving net/http/pprof, the reference for the answers below.
const GO_SERVER = `package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(os.Stdout, "listening %d\\n", ln.Addr().(*net.TCPAddr).Port)
	http.Serve(ln, nil)
}
`;

describe("serve answers as Go's net/http/pprof does", () => {
  let dir = '';
  let go: ChildProcess | undefined;
  let goBase = '';
  let ourBase = '';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-go-'));
    fs.writeFileSync(path.join(dir, 'main.go'), GO_SERVER);
    execFileSync('go', ['build', '-o', 'pprof-server', 'main.go'], { cwd: dir, env: { ...process.env, GO111MODULE: 'off' }, timeout: 180_000 });
    const proc = spawn(path.join(dir, 'pprof-server'), { stdio: ['ignore', 'pipe', 'inherit'] });
    go = proc;
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    const port = await waitFor(() => /listening (\d+)/.exec(out)?.[1], 30_000, 'the Go server to listen');
    goBase = `http://127.0.0.1:${port}/debug/pprof`;
    const t = await startTarget('busy.js');
    ourBase = (await startServe(t.port)).url.replace(/\/$/, '');
  }, 240_000);

  afterAll(async () => {
    await killAll();
    go?.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What a client could depend on: status, the headers that say what the body is, where a 301 goes, a 301's body. */
  const shape = (a: HttpAnswer) => ({
    status: a.status,
    type: a.headers['content-type'],
    disposition: a.headers['content-disposition'],
    location: a.headers.location,
    gzip: a.body.subarray(0, 2).toString('hex') === '1f8b',
    body: a.status === 301 ? a.text : undefined,
  });

  test.each([
    ['POST', '/heap'],
    ['POST', '/profile?seconds=1'],
    ['POST', '/goroutine?debug=1'],
    ['GET', '/goroutine?debug=abc'],
    ['GET', '/heap?debug=abc'],
    ['GET', '/heap?gc=yes'],
    ['GET', '/heap?debug=2'],
    ['GET', ''],
    ['HEAD', ''],
    ['POST', ''],
    ['GET', '?a=1&b=<x>'],
    ['GET', '?'],
  ])('%s /debug/pprof%s', async (method, suffix) => {
    // '' is /debug/pprof without its slash (the 301); '?…' the same with a query
    const ours = await request(ourBase + suffix, { method });
    const theirs = await request(goBase + suffix, { method });
    expect(shape(ours)).toEqual(shape(theirs));
  });
});
