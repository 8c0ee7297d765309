// Progress on stderr: an ora spinner when stderr is a terminal and not --quiet, nothing otherwise.
// ora (and its dozen dependencies) is loaded in the background when progress is enabled, so neither
// a run without a terminal nor the connection to the target waits for it; the spinner shows the
// latest text as soon as it is loaded.

import type { Ora } from 'ora';
import type { Progress } from '../attach/io.js';
import { terminalText } from '../output/terminal-text.js';

export function createProgress(enabled: boolean): Progress {
  // A terminal that reports 0 columns (a pseudo-terminal with no size, as some CI runners and
  // `script` give) makes ora unable to erase its line: every frame would pile up as a new line.
  if (!enabled || process.stderr.columns === 0) return { start() {}, update() {}, stop() {} };
  let spinner: Ora | undefined;
  /** The text to show while started (the spinner may not be loaded yet); undefined when stopped. */
  let text: string | undefined;
  let ora: typeof import('ora').default | undefined;
  const show = () => {
    if (ora && text !== undefined && !spinner) spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
  };
  import('ora').then(
    (m) => {
      ora = m.default;
      show();
    },
    () => undefined, // no spinner is better than a failed run
  );
  return {
    start(t) {
      t = terminalText(t);
      text = t;
      if (spinner) spinner.text = t;
      else show();
    },
    update(t) {
      t = terminalText(t);
      if (text !== undefined) text = t;
      if (spinner) spinner.text = t;
    },
    stop() {
      spinner?.stop();
      spinner = undefined;
      text = undefined;
    },
  };
}
