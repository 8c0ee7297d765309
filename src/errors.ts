// The one error type users see: a one-line message and the exit status it maps to.

import { terminalText } from './output/terminal-text.js';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

export class NodeprofError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_RUNTIME,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NodeprofError';
  }
}

export class UsageError extends NodeprofError {
  constructor(message: string) {
    // Messages quote what the user typed, which may hold a newline or an escape sequence: one line, always.
    super(oneLine(message), EXIT_USAGE);
    this.name = 'UsageError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * A message as one printable line: control characters (newlines, escape sequences, NUL, C1, bidi)
 * are shown escaped, so quoting user input or a target's strings can neither break the line nor
 * drive the terminal.
 */
export function oneLine(text: string): string {
  return terminalText(text);
}
