/**
 * Progress of a command on a terminal: one line on stderr (stage, files, rows, elapsed), redrawn in
 * place by cli-progress, only when stderr is a TTY. Anywhere else (a pipe, a file, CI) it writes
 * nothing at all, so the command's stdout and stderr stay exactly what scripts and tests parse.
 */
import { SingleBar } from 'cli-progress';
import type { LocalRuntimeOptions } from '../local/runtime-options';
import { runTotals } from './format';

/** What a command reports as it goes; every field optional (what is not given stays as it was). */
export interface ProgressUpdate {
  /** The stage (state) the work is in: `Discover`, `LoadBatch`, `Verify`, … */
  readonly stage?: string;
  readonly rows?: number;
  readonly files?: number;
}

/** A command's progress line. */
export interface Progress {
  update(update: ProgressUpdate): void;
  /** Writes a line of the command's own output (to stdout, unchanged) without garbling the progress line. */
  log(line: string): void;
  /** Clears the line (the command's own output follows). Safe to call twice. */
  stop(): void;
}

export interface ProgressOptions {
  /** Whether to draw: @default `process.stderr.isTTY` */
  readonly tty?: boolean;
  /** Where to draw. @default process.stderr */
  readonly stream?: NodeJS.WriteStream;
  /** What the command does, before the stage: `sync orders`, `clean orders`. */
  readonly label?: string;
}

const QUIET: Progress = { update: () => undefined, log: (line) => void process.stdout.write(line), stop: () => undefined };

/**
 * Starts a progress line for a command (`sync`, `verify`, `demo`; `clean` calls it too). Not on a
 * TTY, returns a progress that does nothing.
 */
export function startProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (!(options.tty ?? stream.isTTY === true)) return QUIET;
  const bar = new SingleBar({
    stream,
    format: `${options.label ? `${options.label} ` : ''}{stage} | files {files} | rows {rows} | {duration_formatted}`,
    // Left visible: a Ctrl-C ends the process at once (./local-runtime.ts) and would leave it hidden.
    hideCursor: false,
    clearOnComplete: true,
    // The line is redrawn for the elapsed time even when nothing else changes.
    fps: 4,
    // Drawn because the caller decided stderr is a terminal (cli-progress checks the stream itself otherwise).
    noTTYOutput: true,
    notTTYSchedule: 250,
  });
  const payload = { stage: 'starting', rows: 0, files: 0 };
  bar.start(1, 0, payload);
  let stopped = false;
  return {
    update(u) {
      if (stopped) return;
      const newStage = u.stage !== undefined && u.stage !== payload.stage;
      if (u.stage !== undefined) payload.stage = u.stage;
      if (u.rows !== undefined) payload.rows = u.rows;
      if (u.files !== undefined) payload.files = u.files;
      bar.update(0, payload);
      // Every stage is drawn as it starts, not only the one showing at the next redraw tick.
      if (newStage) bar.render();
    },
    log(line) {
      // The progress line is cleared first and redrawn after (stdout and stderr share the terminal).
      if (!stopped) stream.write('\r\x1b[K');
      process.stdout.write(line);
      if (!stopped) bar.update(0, payload);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

/**
 * The local runtime's `onStateEntered` for a progress line: the state entered is the stage; the
 * files and rows loaded so far are read from the run record (the run id is the execution name).
 */
export function progressFromExecutions(progress: Progress): NonNullable<LocalRuntimeOptions['onStateEntered']> {
  return ({ name, state, runs }) => {
    progress.update({ stage: state });
    runs
      .get(name)
      .then((run) => {
        const t = runTotals(run);
        const extracted = (run?.stages?.extract as { rows?: unknown } | undefined)?.rows;
        progress.update({ files: t.filesLoaded, rows: t.rows > 0 ? t.rows : typeof extracted === 'number' ? extracted : 0 });
      })
      .catch(() => undefined);
  };
}
