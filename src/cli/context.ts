// What command modules share: logging to stderr, interrupts, the exit code.

import type { Interrupts } from './signals.js';

export interface CommandContext {
  log(line: string): void;
  quiet(): boolean;
  interrupts(): Interrupts;
  setExitCode(code: number): void;
}
