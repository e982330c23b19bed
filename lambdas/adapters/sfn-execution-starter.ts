import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { ExecutionStarter } from '../core/ports';
import { TerminalError, TransientError } from '../core/errors';

/** Starts SyncStateMachine executions; a duplicate name is a no-op, not an error. */
export class SfnExecutionStarter implements ExecutionStarter {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(name: string, input: unknown): Promise<'started' | 'duplicate'> {
    try {
      await this.client.send(
        new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return 'started';
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists || (error as { name?: string }).name === 'ExecutionAlreadyExists') return 'duplicate';
      const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
      if (e.$retryable || (e.$metadata?.httpStatusCode ?? 0) >= 500 || e.name === 'ThrottlingException') {
        throw new TransientError(`starting execution ${name}: ${e.name}; retry later`, { cause: error });
      }
      throw new TerminalError(`starting execution ${name}: ${e.name ?? String(error)}`, { cause: error });
    }
  }
}
