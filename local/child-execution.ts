/**
 * What Step Functions' optimized `states:startExecution.sync:2` integration returns to the Task
 * state, and how it fails, for the local runtime's child executions:
 * - the result is the child's DescribeExecution in PascalCase, keys in alphabetical order, dates in
 *   epoch milliseconds, and (`:2`) `Input` and `Output` as JSON values, not strings;
 * - a child that ends other than SUCCEEDED fails the task with `States.TaskFailed`, whose Cause is
 *   that DescribeExecution as JSON text (the child's own Error and Cause are inside it);
 * - a refused StartExecution fails it with `StepFunctions.<Code>Exception`
 *   (`StepFunctions.ExecutionAlreadyExistsException`, `StepFunctions.InvalidNameException`).
 */
import { randomUUID } from 'node:crypto';

/** How a child execution ended, as the runtime knows it. */
export interface ChildOutcome {
  readonly name: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly input: unknown;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** ISO-8601. */
  readonly startDate?: string;
  readonly stopDate?: string;
}

/** A StartExecution that Step Functions refuses, as the Task state reports it. */
export class ChildExecutionRefused extends Error {
  constructor(code: 'ExecutionAlreadyExists' | 'InvalidName', message: string) {
    super(`${message} (Service: AWSStepFunctions; Status Code: 400; Error Code: ${code}; Request ID: ${randomUUID()}; Proxy: null)`);
    this.name = `StepFunctions.${code}Exception`;
  }
}

/** Whitespace, brackets, wildcards, the special characters and control characters Step Functions refuses in a name. */
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u;

/**
 * The StartExecution a `startExecution.sync:2` task's Parameters ask for: `Name` (a UUID when not
 * given, as Step Functions makes one) and `Input` (an empty object when not given).
 */
export function startExecutionRequest(parameters: { readonly Name?: unknown; readonly Input?: unknown }): { readonly name: string; readonly input: unknown } {
  const name = parameters.Name === undefined ? randomUUID() : parameters.Name;
  if (typeof name !== 'string' || name.length < 1 || name.length > 80 || INVALID_NAME.test(name)) {
    throw new ChildExecutionRefused('InvalidName', `Invalid Name: '${String(name)}'`);
  }
  return { name, input: parameters.Input ?? {} };
}

/** The child's DescribeExecution, as `.sync:2` hands it to the Task state. */
export function describeExecution(outcome: ChildOutcome, arns: { readonly executionArn: string; readonly stateMachineArn: string }): Record<string, unknown> {
  const millis = (iso: string | undefined) => (iso ? Date.parse(iso) : Date.now());
  const succeeded = outcome.status === 'SUCCEEDED';
  const fields: Record<string, unknown> = {
    ...(succeeded ? {} : { Cause: outcome.cause ?? '', Error: outcome.error ?? '' }),
    ExecutionArn: arns.executionArn,
    Input: outcome.input ?? {},
    InputDetails: { Included: true },
    Name: outcome.name,
    ...(succeeded ? { Output: outcome.output ?? null, OutputDetails: { Included: true } } : {}),
    RedriveCount: 0,
    RedriveStatus: succeeded ? 'NOT_REDRIVABLE' : 'REDRIVABLE',
    ...(succeeded ? { RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven' } : {}),
    StartDate: millis(outcome.startDate),
    StateMachineArn: arns.stateMachineArn,
    Status: outcome.status,
    StopDate: millis(outcome.stopDate),
  };
  return Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The task's result for a SUCCEEDED child; throws `States.TaskFailed` (Cause: the DescribeExecution) otherwise. */
export function childTaskResult(description: Record<string, unknown>): Record<string, unknown> {
  if (description.Status === 'SUCCEEDED') return description;
  const error = new Error(JSON.stringify(description));
  error.name = 'States.TaskFailed';
  throw error;
}
