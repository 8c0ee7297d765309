// What attach needs from the command that runs it: the terminal, the user's Ctrl-C, --open.

export interface Progress {
  start(text: string): void;
  update(text: string): void;
  stop(): void;
}

export interface AttachIO {
  stdoutIsTTY: boolean;
  progress: Progress;
  /** One line to the user on stderr. */
  log(line: string): void;
  /** Writes the --top table (stdout unless a profile goes there). */
  printTop(text: string, profileOnStdout: boolean): void;
  /** Settles on the first Ctrl-C / SIGTERM. */
  interrupted: Promise<void>;
  /** Registers what to do, quickly, before exiting on a second Ctrl-C. */
  setAbortHook(hook: (() => Promise<void>) | undefined): void;
  /** Runs go tool pprof -http on a file (--open). */
  openInPprof(file: string): Promise<void>;
}
