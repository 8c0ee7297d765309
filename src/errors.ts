// The one error type users see: a one-line message and the exit status it maps to.

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
 * A message as one printable line: control characters (newlines, escape sequences, NUL, C1) are
 * shown escaped, as JSON would show them, so quoting user input can neither break the line nor
 * drive the terminal.
 */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
