import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { localBindings, logger, starterFromEnv, depsFromEnv } from '../adapters/stage-handler';
import { objectCreatedEventSchema, runTrigger, type ObjectCreatedEvent } from './trigger';

/**
 * SQS → trigger. Unparseable messages are logged and dropped (retrying cannot fix them); a batch
 * whose executions could not be started reports every message as failed, so SQS redelivers them
 * (names are deterministic, so a redelivery starts nothing twice).
 */
export const handler = async (event: SQSEvent, context?: unknown): Promise<SQSBatchResponse> => {
  const local = localBindings(context);
  const deps = local?.stageDeps ?? depsFromEnv();
  const events: ObjectCreatedEvent[] = [];
  const ids: string[] = [];
  for (const record of event.Records) {
    const parsed = objectCreatedEventSchema.safeParse(safeJson(record.body));
    if (parsed.success) {
      events.push(parsed.data);
      ids.push(record.messageId);
    } else logger.warn('ignoring a message that is not an S3 Object Created event', { messageId: record.messageId });
  }
  try {
    const result = await runTrigger(events, {
      config: deps.config,
      objects: deps.objects,
      starter: local?.starter ?? starterFromEnv(),
    });
    logger.info('triggered', { ...result });
    return { batchItemFailures: [] };
  } catch (error) {
    logger.error('could not start executions; SQS will redeliver', { error });
    return { batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })) };
  }
};

function safeJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
