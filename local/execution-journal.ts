import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The workflows the stack defines: one dataset, several datasets (child `sync` executions), scheduled verification. */
export type MachineKind = 'sync' | 'verify' | 'datasets';

/** A running execution as the journal keeps it. */
export interface JournaledExecution {
  readonly name: string;
  readonly machine: MachineKind;
  /** The execution input (`$$.Execution.Input`). */
  readonly input: unknown;
  /**
   * The top-level state the execution last entered and that state's raw input (before InputPath
   * and Parameters): where a restart re-enters it. Absent until the first state is entered.
   */
  readonly state?: { readonly name: string; readonly input: unknown };
}

/**
 * How an execution ended, as `finished.jsonl` keeps it: enough to answer a restarted parent's
 * `startExecution.sync:2` of a child that ended before the crash. Lines written before this was
 * kept carry only `name`, `status` and `endedAt`.
 */
export interface EndedExecution {
  readonly name: string;
  readonly status: string;
  readonly endedAt: string;
  readonly machine?: MachineKind;
  readonly input?: unknown;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  readonly startDate?: string;
}

/** What {@link ExecutionJournal.open} found from earlier processes. */
export interface JournalRecovery {
  readonly journal: ExecutionJournal;
  /** Executions that were running when their process ended without finishing them. */
  readonly running: readonly JournaledExecution[];
  /** Names of executions that ended (names stay taken, as Step Functions keeps them for 90 days). */
  readonly finished: ReadonlySet<string>;
  /** The executions that ended, by name (the last record of a name). */
  readonly ended: ReadonlyMap<string, EndedExecution>;
}

/**
 * Step Functions' durability for the local runtime: each running execution is a JSON file under
 * `<dir>/running/` (name, machine, input, and the state it is in with that state's input), replaced
 * by write-then-rename on every top-level state transition and removed when the execution ends;
 * ended executions append their name to `<dir>/finished.jsonl`, so that a name stays taken across
 * restarts. Writes for one execution are applied in call order. Not fsync'ed: survives the
 * process being killed, not a power loss (like the emulators' own files).
 */
export class ExecutionJournal {
  private readonly tails = new Map<string, Promise<void>>();

  private constructor(private readonly dir: string) {}

  /** Opens (creating) the journal in `dir` and reads what earlier processes left. */
  static async open(dir: string): Promise<JournalRecovery> {
    await mkdir(join(dir, 'running'), { recursive: true });
    const running: JournaledExecution[] = [];
    for (const name of (await readdir(join(dir, 'running'))).sort()) {
      const path = join(dir, 'running', name);
      if (!name.endsWith('.json')) {
        await rm(path, { force: true });
        continue;
      }
      try {
        running.push(JSON.parse(await readFile(path, 'utf8')) as JournaledExecution);
      } catch {
        // renamed into place only when complete: an unreadable file is not one of ours
      }
    }
    const finished = new Set<string>();
    const ended = new Map<string, EndedExecution>();
    const text = await readFile(join(dir, 'finished.jsonl'), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      try {
        const record = JSON.parse(line) as { name?: unknown };
        if (typeof record.name === 'string') {
          finished.add(record.name);
          ended.set(record.name, record as EndedExecution);
        }
      } catch {
        // an empty line, or the last line cut short by a crash
      }
    }
    for (const e of running) {
      finished.delete(e.name);
      ended.delete(e.name);
    }
    return { journal: new ExecutionJournal(dir), running, finished, ended };
  }

  /** Records a started execution; resolves once it is on disk. */
  begin(execution: JournaledExecution): Promise<void> {
    return this.serial(execution.name, () => this.write(execution));
  }

  /** Records the top-level state an execution entered, with its raw input. */
  enter(execution: JournaledExecution, state: string, input: unknown): Promise<void> {
    return this.serial(execution.name, () => this.write({ ...execution, state: { name: state, input } }));
  }

  /** Records an ended execution (with how it ended): its name is kept, its running file removed. */
  end(name: string, status: string, result: Omit<EndedExecution, 'name' | 'status' | 'endedAt'> = {}): Promise<void> {
    return this.serial(name, async () => {
      await appendFile(join(this.dir, 'finished.jsonl'), `${JSON.stringify({ name, status, endedAt: new Date().toISOString(), ...result })}\n`);
      await rm(this.file(name), { force: true });
    });
  }

  private file(name: string): string {
    // Names may hold any character Step Functions allows; the file name is a digest of it.
    return join(this.dir, 'running', `${createHash('sha256').update(name).digest('hex').slice(0, 40)}.json`);
  }

  private async write(execution: JournaledExecution): Promise<void> {
    const path = this.file(execution.name);
    await writeFile(`${path}.partial`, JSON.stringify(execution));
    await rename(`${path}.partial`, path);
  }

  private serial(name: string, fn: () => Promise<void>): Promise<void> {
    const run = (this.tails.get(name) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    this.tails.set(name, tail);
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    });
    return run;
  }
}
