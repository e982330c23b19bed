import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { SOURCE_TRANSIENT_ERROR_NAMES, TRANSIENT_ERROR_NAMES } from '../../lambdas/core/errors';

/**
 * Errors Lambda reports when the function itself died: killed, out of memory, or past its timeout.
 * Every stage is idempotent (the load protocol re-reads the ledger and the warehouse), so a crashed
 * invocation is retried with the same input, and the load finds its own lease again at once instead
 * of leaving its files leased until a later execution takes them over.
 */
export const LAMBDA_CRASH_ERRORS = ['Lambda.Unknown', 'Sandbox.Timedout', 'States.Timeout'] as const;

/**
 * Retries a task on the transient error names the stages throw (2 s, then 4 s; 3 attempts), and on
 * a crashed invocation (10 s, then 20 s; 2 attempts).
 */
export function retryTransient(task: tasks.LambdaInvoke): tasks.LambdaInvoke {
  task.addRetry({ errors: [...TRANSIENT_ERROR_NAMES], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
  task.addRetry({ errors: [...LAMBDA_CRASH_ERRORS], interval: Duration.seconds(10), maxAttempts: 2, backoffRate: 2 });
  return task;
}

/**
 * Retries a task that reads a source database also on the source's outage names (2 s, then 4 s;
 * 3 attempts). Only such tasks get it: no other stage talks to a source.
 */
export function retrySourceUnavailable(task: tasks.LambdaInvoke): tasks.LambdaInvoke {
  task.addRetry({ errors: [...SOURCE_TRANSIENT_ERROR_NAMES], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
  return task;
}

/**
 * The failure path both state machines share: a task that records the failure (the record Lambda
 * with `outcome: failed`, the execution input and `$.error`), then a Fail state that ends the
 * execution with the original error. Returns the recording task: stages catch into it with
 * `resultPath: '$.error'`.
 */
export function failurePath(
  scope: Construct,
  names: { readonly record: string; readonly failed: string; /** Which workflow fails (its end event); a sync run when absent. */ readonly workflow?: 'verify' | 'datasets' },
  recordFunction: lambda.IFunction,
): tasks.LambdaInvoke {
  const failed = new sfn.Fail(scope, names.failed, {
    comment: 'The error that RecordFailure recorded',
    errorPath: '$.error.Error',
    causePath: '$.error.Cause',
  });
  const recordFailure = retryTransient(
    new tasks.LambdaInvoke(scope, names.record, {
      lambdaFunction: recordFunction,
      payload: sfn.TaskInput.fromObject({
        outcome: 'failed',
        runId: sfn.JsonPath.executionName,
        // A SyncStateMachine execution that holds its dataset's run lock releases it here.
        executionArn: sfn.JsonPath.executionId,
        input: sfn.JsonPath.objectAt('$$.Execution.Input'),
        error: sfn.JsonPath.objectAt('$.error'),
        ...(names.workflow ? { workflow: names.workflow } : {}),
      }),
      // Keep the state (with $.error) and put the record Lambda's answer beside it.
      resultSelector: { 'Payload.$': '$.Payload' },
      resultPath: '$.recorded',
      taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
    }),
  );
  // Recording failed too: still fail with the original error, which $.error holds.
  recordFailure.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.recordError' });
  recordFailure.next(failed);
  return recordFailure;
}
