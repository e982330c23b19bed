// aws-local-stepfunctions needs Promise.withResolvers (Node >= 22); on Node 20 core-js provides it, for every user of the runner.
import 'core-js/actual/promise/with-resolvers';
import { StateMachine } from 'aws-local-stepfunctions';
import type { JournaledExecution } from './execution-journal';
import type { Json } from './template';

/** Entry state of a restarted execution: a Pass that hands the journaled state input on. */
const RESUME_STATE = 'SyncproofLocalResume';

/**
 * The runner's ASL validation (asl-validator, an ajv compile per state machine) cost ~0.8 s of every
 * local runtime start (measured): the runtime skips it, and test/infra/state-machine-definitions.test.ts
 * validates every synthesized definition with {@link validateDefinition} instead.
 */
const NO_VALIDATION = { validationOptions: { noValidate: true } };

/** Throws when `definition` is not valid ASL as aws-local-stepfunctions checks it (ARNs and paths aside). */
export function validateDefinition(definition: Record<string, Json>): void {
  new StateMachine(definition as never, { validationOptions: { checkArn: false, checkPaths: false } });
}

/** The optimized integration that starts a child execution and waits for it, Output as JSON. */
export const START_EXECUTION_SYNC2 = 'arn:aws:states:::states:startExecution.sync:2';

/** What a Task state runs locally: a stage Lambda, or a child execution of one of the stack's state machines. */
export type BoundTask =
  | { readonly kind: 'lambda'; readonly logicalId: string; readonly stage: string }
  | { readonly kind: 'execution'; readonly machine: string };

/** A synthesized state machine definition, ready to run with its Lambda tasks bound to stages. */
export interface BoundMachine {
  readonly definition: Record<string, Json>;
  readonly machine: StateMachine;
  /** Task state name → the Lambda it invokes (logical id and stage), or the state machine whose executions it starts. */
  readonly tasks: ReadonlyMap<string, BoundTask>;
  /** Top-level state names: where the journal records progress and a restart may re-enter. */
  readonly topStates: ReadonlySet<string>;
  readonly retryOverrides: Record<string, number>;
  /** Wait states shortened (ms): the loop they drive is the same, only the clock is faster. */
  readonly waitOverrides: Record<string, number>;
}

function taskStates(definition: Record<string, Json>): [string, Record<string, Json>][] {
  const out: [string, Record<string, Json>][] = [];
  const states = (definition.States ?? {}) as Record<string, Record<string, Json>>;
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') out.push([name, state]);
    for (const branch of (state.Branches ?? []) as Record<string, Json>[]) out.push(...taskStates(branch));
    const inner = (state.ItemProcessor ?? state.Iterator) as Record<string, Json> | undefined;
    if (inner) out.push(...taskStates(inner));
  }
  return out;
}

/**
 * Validates `definition` and binds each Task state to the stage of the Lambda it invokes (by
 * logical id, `stages` from the template), or, for a `states:startExecution.sync:2` task, to the
 * state machine it starts (by logical id, `machines`: logical id → the runtime's name for it);
 * throws naming a task that invokes neither (other integrations, and startExecution without
 * `.sync:2`, are not run locally). Retry intervals are shortened to 20 ms and Wait states to
 * 250 ms (same loops, faster clock).
 */
export function bindMachine(
  definition: Record<string, Json>,
  stages: ReadonlyMap<string, string>,
  known: (stage: string) => boolean,
  machines: ReadonlyMap<string, string> = new Map(),
): BoundMachine {
  const tasks = new Map<string, BoundTask>();
  const retryOverrides: Record<string, number> = {};
  for (const [stateName, state] of taskStates(definition)) {
    const params = (state.Parameters ?? {}) as Record<string, Json>;
    if (String(state.Resource ?? '').startsWith('arn:aws:states:::states:startExecution')) {
      const arn = String(params.StateMachineArn ?? '');
      const machine = machines.get(arn.split(':').pop() ?? '');
      if (state.Resource !== START_EXECUTION_SYNC2 || !machine) {
        throw new Error(`task state '${stateName}' runs ${String(state.Resource)} of '${arn}'; the local runtime runs ${START_EXECUTION_SYNC2} of the stack's own state machines only`);
      }
      retryOverrides[stateName] = 20;
      tasks.set(stateName, { kind: 'execution', machine });
      continue;
    }
    const fn = String(params.FunctionName ?? state.Resource ?? '');
    const logicalId = fn.split(':').pop() ?? '';
    const stage = stages.get(logicalId);
    if (!stage || !known(stage)) throw new Error(`task state '${stateName}' invokes '${fn}', which is no syncproof stage Lambda`);
    retryOverrides[stateName] = 20;
    tasks.set(stateName, { kind: 'lambda', logicalId, stage });
  }
  const waitOverrides: Record<string, number> = {};
  const states = (definition.States ?? {}) as Record<string, Record<string, Json>>;
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Wait') waitOverrides[name] = 250;
  }
  const machine = new StateMachine(definition as never, NO_VALIDATION);
  return { definition, machine, tasks, topStates: new Set(Object.keys(states)), retryOverrides, waitOverrides };
}

/** Counts the top-level state entries (and retries) the journal has recorded, for the task wrappers. */
class StateProgress {
  private readonly counts = new Map<string, number>();
  private waiters: { state: string; count: number; resolve: () => void }[] = [];
  private closed = false;

  advance(state: string): void {
    this.counts.set(state, (this.counts.get(state) ?? 0) + 1);
    this.wake();
  }

  /** Resolves once `state` was entered or retried `count` times (or the event log ended). */
  reached(state: string, count: number): Promise<void> {
    if (this.closed || (this.counts.get(state) ?? 0) >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ state, count, resolve }));
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => this.closed || (this.counts.get(w.state) ?? 0) >= w.count);
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}

/** One execution to run. */
export interface MachineRunRequest {
  readonly executionArn: string;
  readonly name: string;
  readonly input: unknown;
  /** A restart from the journal: re-enter `state` (with its input), or from the top without one. */
  readonly restart?: { readonly state?: JournaledExecution['state'] };
  /** Persists that a top-level state was entered with this raw input; awaited before its task runs. */
  readonly entered: (state: string, input: unknown) => Promise<void>;
  /** Invokes the stage Lambda of a task with the task's payload; rejects with the Lambda's error. */
  readonly invoke: (logicalId: string, stage: string, payload: unknown) => Promise<unknown>;
  /**
   * Runs a `startExecution.sync:2` task: starts (or meets again) the child execution and resolves
   * with what Step Functions returns for it; rejects with the task's error (`States.TaskFailed`
   * for a failed child). Needed only by definitions with such tasks.
   */
  readonly startExecution?: (machine: string, parameters: { readonly Name?: unknown; readonly Input?: unknown }) => Promise<unknown>;
  /**
   * Told of every billed transition as it happens: a state entered (nested ones too), or a retry
   * of one (`retry`; Step Functions bills each retry as a transition). Progress and the live
   * transition count read it.
   */
  readonly stateEntered?: (state: string, retry: boolean) => void;
}

/** How an execution ended, as Step Functions reports it. */
export interface MachineRunResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** Largest output of each state, in bytes of JSON. */
  readonly stateOutputBytes: Readonly<Record<string, number>>;
  /** States entered (transitions, as Step Functions bills them). */
  readonly transitions: number;
  /** Set for a restart: the state it re-entered. */
  readonly restartedAt?: string;
}

/**
 * Runs one execution of `bound`. Every top-level state entry is persisted (`entered`) before the
 * state's Lambda is invoked — the k-th invocation of a task waits for the k-th entry-or-retry of
 * its state in the execution's event log — so a restart never re-enters a state before the one
 * whose side effects may have happened. A restart at a state starts at a Pass that outputs the
 * journaled input and goes to that state (`$$.Execution.Input` stays the execution's input).
 */
export async function runMachine(bound: BoundMachine, request: MachineRunRequest): Promise<MachineRunResult> {
  const progress = new StateProgress();
  const taskOverrides: Record<string, (input: Record<string, Json>) => Promise<unknown>> = {};
  for (const [stateName, task] of bound.tasks) {
    let calls = 0;
    taskOverrides[stateName] = async (taskInput) => {
      calls += 1;
      if (bound.topStates.has(stateName)) await progress.reached(stateName, calls);
      if (task.kind === 'execution') {
        if (!request.startExecution) throw new Error(`task state '${stateName}' starts a ${task.machine} execution, which this run cannot`);
        return request.startExecution(task.machine, taskInput);
      }
      const payload = 'Payload' in taskInput ? taskInput.Payload : taskInput;
      const result = await request.invoke(task.logicalId, task.stage, payload);
      // lambda:invoke returns the function's result under Payload (DESIGN.md §6).
      return { Payload: result ?? null, StatusCode: 200, ExecutedVersion: '$LATEST' };
    };
  }
  const resume = request.restart?.state;
  const machine = resume
    ? new StateMachine(
        {
          ...bound.definition,
          StartAt: RESUME_STATE,
          States: { ...(bound.definition.States as Record<string, Json>), [RESUME_STATE]: { Type: 'Pass', Result: resume.input as Json, Next: resume.name } },
        } as never,
        // bindMachine validated the definition; the new entry leaves the states before the resumed
        // one unreachable, which validation would refuse.
        NO_VALIDATION,
      )
    : bound.machine;
  const execution = machine.run(request.input as never, {
    overrides: { taskResourceLocalHandlers: taskOverrides as never, retryIntervalOverrides: bound.retryOverrides, waitTimeOverrides: bound.waitOverrides },
    context: { Execution: { Id: request.executionArn, Name: request.name, Input: request.input, StartTime: new Date().toISOString() } } as never,
  });
  const stateOutputBytes: Record<string, number> = {};
  let transitions = 0;
  const watching = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered' && event.state.name !== RESUME_STATE) {
        transitions += 1;
        request.stateEntered?.(event.state.name, false);
      }
      if (event.type === 'StateRetried') request.stateEntered?.(event.state.name, true);
      if (event.type === 'StateExited' && event.state.name !== RESUME_STATE) {
        const bytes = Buffer.byteLength(JSON.stringify(event.state.output ?? null), 'utf8');
        stateOutputBytes[event.state.name] = Math.max(stateOutputBytes[event.state.name] ?? 0, bytes);
      }
      if ((event.type !== 'StateEntered' && event.type !== 'StateRetried') || event.index !== undefined || !bound.topStates.has(event.state.name)) continue;
      if (event.type === 'StateEntered') await request.entered(event.state.name, event.state.input);
      progress.advance(event.state.name);
    }
  })()
    .catch(() => undefined)
    .finally(() => progress.close());
  let result: MachineRunResult;
  try {
    const output = await execution.result;
    result = { stateOutputBytes, transitions, status: 'SUCCEEDED', output };
  } catch (error) {
    // aws-local-stepfunctions throws ExecutionError; its `cause` is the Fail state's error,
    // whose name and message are the execution's Error and Cause.
    const e = error as { name?: string; message?: string; cause?: { name?: string; message?: string } };
    result = { stateOutputBytes, transitions, status: 'FAILED', error: e.cause?.name ?? e.name, cause: e.cause?.message ?? e.message };
  }
  await watching;
  result = { ...result, transitions };
  return request.restart ? { ...result, restartedAt: resume?.name ?? String(bound.definition.StartAt) } : result;
}
