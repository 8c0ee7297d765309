// Progress on stderr: an ora spinner when stderr is a terminal and not --quiet, nothing otherwise.

import ora, { type Ora } from 'ora';
import type { Progress } from '../attach.js';

export function createProgress(enabled: boolean): Progress {
  if (!enabled) return { start() {}, update() {}, stop() {} };
  let spinner: Ora | undefined;
  return {
    start(text) {
      spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
    },
    update(text) {
      if (spinner) spinner.text = text;
    },
    stop() {
      spinner?.stop();
      spinner = undefined;
    },
  };
}
