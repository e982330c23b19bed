import type { SQSEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { LOCAL_REGION, type S3NotificationEvent } from './emulators';
import type { QueueMessage } from './event-queue';
import { LOCAL_ACCOUNT, type Json } from './template';

/**
 * The EventBridge "Object Created" events (S3's EventBridge shape, one per record) of an
 * S3-notification event as s3rver emits it, each with the object key it names. Records of other
 * event types (deletes, …) give none.
 */
export function objectCreatedEvents(notification: S3NotificationEvent): { event: Record<string, Json>; key: string }[] {
  return notification.Records.filter((r) => r.eventName.startsWith('ObjectCreated')).map((r) => ({
    key: r.s3.object.key,
    event: {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: LOCAL_ACCOUNT,
      time: r.eventTime,
      region: LOCAL_REGION,
      resources: [`arn:aws:s3:::${r.s3.bucket.name}`],
      detail: {
        version: '0',
        bucket: { name: r.s3.bucket.name },
        object: { key: r.s3.object.key, size: r.s3.object.size ?? 0, etag: r.s3.object.eTag ?? '', sequencer: r.s3.object.sequencer ?? '' },
        reason: r.eventName.replace('ObjectCreated:', '') + 'Object',
      },
    },
  }));
}

/** The SQS event a Lambda event source mapping passes for a batch of queue messages. */
export function sqsEvent(batch: readonly QueueMessage[]): SQSEvent {
  return {
    Records: batch.map((m) => ({
      messageId: m.id,
      body: JSON.stringify(m.body),
      eventSource: 'aws:sqs',
      attributes: { ApproximateReceiveCount: String(m.receiveCount) },
    })),
  } as unknown as SQSEvent;
}
