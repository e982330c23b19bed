import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
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
