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
    super(message, EXIT_USAGE);
    this.name = 'UsageError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
