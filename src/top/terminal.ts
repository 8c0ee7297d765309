// The terminal while top runs: the alternate screen, no cursor, keys one by one (raw mode), and
// always put back as it was, whatever ends top (a key, a signal, an error, the process exiting).

export type Key = 'quit' | 'sort1' | 'sort2' | 'sort3' | 'sort4' | 'lines' | 'next-thread' | 'previous-thread' | 'pause' | 'reset' | 'help';

/** The keys in one chunk read from a raw-mode terminal, in order; unknown bytes are ignored. */
export function keysIn(chunk: string): Key[] {
  const keys: Key[] = [];
  for (let i = 0; i < chunk.length; i++) {
    const c = chunk[i]!;
    if (c === '\x1b') {
      // Shift-Tab is CSI Z; any other escape sequence (arrows, function keys) is skipped whole.
      const m = /^\x1b\[[0-9;]*([A-Za-z~])/.exec(chunk.slice(i));
      if (m) {
        if (m[1] === 'Z') keys.push('previous-thread');
        i += m[0].length - 1;
      }
      continue;
    }
    const k = KEYS[c];
    if (k) keys.push(k);
  }
  return keys;
}

const KEYS: Record<string, Key> = {
  q: 'quit',
  Q: 'quit',
  '\x03': 'quit', // Ctrl-C: raw mode delivers it as a byte, not SIGINT
  '\x04': 'quit', // Ctrl-D
  '1': 'sort1',
  '2': 'sort2',
  '3': 'sort3',
  '4': 'sort4',
  l: 'lines',
  L: 'lines',
  '\t': 'next-thread',
  t: 'next-thread',
  p: 'pause',
  ' ': 'pause',
  r: 'reset',
  R: 'reset',
  '?': 'help',
  h: 'help',
};

const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

export class LiveTerminal {
  private entered = false;
  private readonly restoreAtExit = () => this.leave();

  constructor(
    private readonly input: NodeJS.ReadStream,
    private readonly output: NodeJS.WriteStream,
  ) {}

  get width(): number {
    return this.output.columns || 80;
  }

  get height(): number {
    return this.output.rows || 24;
  }

  enter(onKey: (k: Key) => void, onResize: () => void): void {
    if (this.entered) return;
    this.entered = true;
    // A crash or process.exit() must not leave the user's terminal in raw mode on the other screen.
    process.on('exit', this.restoreAtExit);
    this.input.setRawMode(true);
    this.input.setEncoding('utf8');
    this.input.on('data', (chunk: string) => keysIn(chunk).forEach(onKey));
    this.input.resume();
    this.output.on('resize', onResize);
    this.output.write(ENTER);
  }

  /** Redraws the whole screen: home, each line cleared to its end, the rest cleared. */
  draw(lines: readonly string[]): void {
    if (!this.entered) return;
    this.output.write(`\x1b[H${lines.join('\x1b[K\r\n')}\x1b[K\x1b[J`);
  }

  leave(): void {
    if (!this.entered) return;
    this.entered = false;
    process.removeListener('exit', this.restoreAtExit);
    try {
      this.input.setRawMode(false);
    } catch {
      // The terminal is gone (its window closed): nothing to put back.
    }
    this.input.pause();
    this.input.removeAllListeners('data');
    this.output.removeAllListeners('resize');
    this.output.write(LEAVE);
  }
}
