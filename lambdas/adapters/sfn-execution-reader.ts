import { DescribeExecutionCommand, paginateGetExecutionHistory, type SFNClient } from '@aws-sdk/client-sfn';
import { TerminalError, TransientError } from '../core/errors';
import type { ExecutionStatus, ExecutionStatusReader } from '../core/run-lock';

/**
 * DescribeExecution through the Step Functions API (`states:DescribeExecution` on the SyncStateMachine's
 * executions, granted to the record stage). An execution Step Functions does not know is `UNKNOWN`.
 */
export class SfnExecutionReader implements ExecutionStatusReader {
  constructor(private readonly client: SFNClient) {}

  async describe(executionArn: string): Promise<{ readonly status: ExecutionStatus; readonly error?: string; readonly cause?: string }> {
    try {
      const out = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      return { status: (out.status ?? 'UNKNOWN') as ExecutionStatus, ...(out.error ? { error: out.error } : {}), ...(out.cause ? { cause: out.cause } : {}) };
    } catch (error) {
      if ((error as { name?: string }).name === 'ExecutionDoesNotExist') return { status: 'UNKNOWN' };
      throw translateDescribeError(error, executionArn);
    }
  }

  /**
   * Billed transitions so far, from GetExecutionHistory (`states:GetExecutionHistory`, granted
   * with DescribeExecution): every `…StateEntered` event, plus each Task retry (a `TaskScheduled`
   * beyond the one per `TaskStateEntered`). Pages of 1,000 events without their data: one API call
   * per 1,000 events (free, but throttled at 250 a second per account; DescribeExecution has no count).
   */
  async transitions(executionArn: string): Promise<number> {
    let entered = 0;
    let taskEntered = 0;
    let scheduled = 0;
    try {
      for await (const page of paginateGetExecutionHistory({ client: this.client, pageSize: 1000 }, { executionArn, maxResults: 1000, includeExecutionData: false })) {
        for (const e of page.events ?? []) {
          if (e.type?.endsWith('StateEntered')) entered += 1;
          if (e.type === 'TaskStateEntered') taskEntered += 1;
          if (e.type === 'TaskScheduled') scheduled += 1;
        }
      }
    } catch (error) {
      throw translateDescribeError(error, executionArn);
    }
    return entered + Math.max(0, scheduled - taskEntered);
  }
}

/**
 * A failed DescribeExecution as the stages report it: throttling and service errors are
 * TransientError (the state machine retries), anything else — AccessDeniedException above all,
 * whose message names the principal and the action — a TerminalError.
 */
export function translateDescribeError(error: unknown, executionArn: string): Error {
  const e = error as { name?: string; message?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e.$retryable || (e.$metadata?.httpStatusCode ?? 0) >= 500 || e.name === 'ThrottlingException') {
    return new TransientError(`describing execution ${executionArn}: ${e.name}; retry later`, { cause: error });
  }
  return new TerminalError(`describing execution ${executionArn}: ${e.name ?? 'error'}: ${e.message ?? String(error)}`, { cause: error });
}
