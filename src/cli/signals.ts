// Ctrl-C and SIGTERM: the first one asks the running command to stop early and keep its data; the
// second aborts at once (exit 130) after a quick, bounded cleanup in the target.

import { EXIT_INTERRUPTED } from '../errors.js';

export interface Interrupts {
  interrupted: Promise<void>;
  setAbortHook(hook: (() => Promise<void>) | undefined): void;
  dispose(): void;
}

export function installInterrupts(log: (line: string) => void): Interrupts {
  let count = 0;
  let hook: (() => Promise<void>) | undefined;
  let resolveFirst!: () => void;
  const interrupted = new Promise<void>((resolve) => (resolveFirst = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      log(`${signal}: stopping (press Ctrl-C again to abort without writing)`);
      resolveFirst();
      return;
    }
    log(`${signal} again: aborting`);
    const h = hook;
    const exit = () => process.exit(EXIT_INTERRUPTED);
    if (!h) exit();
    else {
      setTimeout(exit, 1500).unref();
      h().then(exit, exit);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    interrupted,
    setAbortHook(h) {
      hook = h;
    },
    dispose() {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}
