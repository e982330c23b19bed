import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambdaEventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENV } from '../../lambdas/core/env';
import type { StageFunction } from './stage-function';

/** Properties of {@link EventTriggers}. */
export interface EventTriggersProps {
  /** The data bucket; it must send its events to EventBridge. */
  readonly bucket: s3.IBucket;
  /** Dataset key prefixes (`orders/`, …); only objects under one of them start a sync. */
  readonly prefixes: readonly string[];
  /** The `trigger` stage; it receives the queue's messages in batches. */
  readonly trigger: StageFunction;
  /** What the trigger starts; it gets its ARN (env) and `states:StartExecution` on it. */
  readonly syncStateMachine: sfn.IStateMachine;
  /**
   * Receives before a message moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Messages per trigger invocation (1–10000; above 10 needs a batching window). The trigger starts
   * one execution per dataset per invocation, so this bounds the files one execution takes from a
   * burst (Lambda also cuts a batch at 6 MB of messages: about 5,000 S3 events).
   * @default 10000
   */
  readonly batchSize?: number;
  /**
   * How long SQS gathers messages before invoking the trigger: a burst becomes a few executions of
   * many files instead of many of a few (each execution costs its fixed states), at the price of
   * this much latency for a lone upload.
   * @default Duration.seconds(20)
   */
  readonly maxBatchingWindow?: Duration;
}

/**
 * The file path in (DESIGN.md §2): S3 "Object Created" events on the default bus, filtered to the
 * data bucket and the dataset prefixes, go to an SQS queue (SSE, TLS only, dead-letter queue after
 * `maxReceiveCount` receives) that feeds the trigger Lambda in batches with partial-batch
 * failure reporting. The queue's visibility timeout is six times the trigger's timeout plus the
 * batching window, as AWS recommends for Lambda event sources.
 */
export class EventTriggers extends Construct {
  /** The EventBridge rule on the default bus. */
  readonly rule: events.Rule;
  /** Buffers events for the trigger Lambda. */
  readonly queue: sqs.Queue;
  /** Messages the trigger failed on `maxReceiveCount` times. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: EventTriggersProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const batchSize = props.batchSize ?? 10_000;
    const maxBatchingWindow = props.maxBatchingWindow ?? Duration.seconds(20);
    const problems: string[] = [];
    if (props.prefixes.length === 0) problems.push('prefixes must name at least one dataset prefix');
    props.prefixes.forEach((p, i) => {
      if (!p.endsWith('/') || p.startsWith('/')) problems.push(`prefixes[${i}] '${p}' must end with '/' and not start with '/'`);
    });
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) problems.push(`maxReceiveCount must be from 1 to 1000, got ${maxReceiveCount}`);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10000) problems.push(`batchSize must be from 1 to 10000, got ${batchSize}`);
    if (maxBatchingWindow.toSeconds() > 300) problems.push(`maxBatchingWindow must be at most 5 minutes, got ${maxBatchingWindow.toHumanString()}`);
    if (batchSize > 10 && maxBatchingWindow.toSeconds() < 1) problems.push('batchSize above 10 needs a maxBatchingWindow of at least 1 second');
    if (problems.length > 0) throw new Error(`EventTriggers ${this.node.path}: ${problems.join('; ')}`);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS: at least six times the function timeout plus the batching window.
      visibilityTimeout: Duration.seconds(props.trigger.timeout.toSeconds() * 6 + maxBatchingWindow.toSeconds()),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.rule = new events.Rule(this, 'ObjectCreatedRule', {
      description: 'syncproof: new objects under a dataset prefix of the data bucket',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.bucket.bucketName] },
          object: { key: props.prefixes.map((prefix) => ({ prefix })) },
        },
      },
      targets: [new targets.SqsQueue(this.queue)],
    });

    props.trigger.function.addEventSource(
      new lambdaEventSources.SqsEventSource(this.queue, { batchSize, maxBatchingWindow, reportBatchItemFailures: true }),
    );
    props.trigger.function.addEnvironment(ENV.syncStateMachineArn, props.syncStateMachine.stateMachineArn);
    props.syncStateMachine.grantStartExecution(props.trigger.function);
  }
}
