/**
 * Counts what the stages ask of AWS at the SDK boundary: a middleware on a stage's S3 and
 * DynamoDB clients reports each command (service, operation, the stage that sent it) before it is
 * sent. Tests and the bench count ListObjectsV2 calls and ledger reads with it; it changes nothing.
 */

/** One AWS call a stage Lambda made. */
export interface AwsCall {
  /** The stage whose Lambda sent it (`discover`, `inventory`, …). */
  readonly stage: string;
  /** The client's signing name: `s3`, `dynamodb`. */
  readonly service: string;
  /** The API operation: `ListObjectsV2`, `HeadObject`, `BatchGetItem`, `Query`, … */
  readonly operation: string;
  /** The command's input (e.g. `TableName`, `Prefix`). */
  readonly input: Readonly<Record<string, unknown>>;
}

/** Receives every call of the clients it observes. */
export type AwsCallObserver = (call: AwsCall) => void;

interface SdkClient {
  readonly config: { readonly defaultSigningName?: string };
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: 'initialize'; name: string; override?: boolean }): void;
  };
}

/** Reports every command `client` sends to `observer`, as sent by `stage`; returns the client. */
export function observeCalls<C extends SdkClient>(client: C, stage: string, observer: AwsCallObserver): C {
  const service = client.config.defaultSigningName ?? 'unknown';
  client.middlewareStack.add(
    (next: (args: { input: Record<string, unknown> }) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: { input: Record<string, unknown> }) => {
        observer({ stage, service, operation: (context.commandName ?? '').replace(/Command$/, ''), input: args.input });
        return next(args);
      },
    { step: 'initialize', name: 'syncproofCallObserver', override: true },
  );
  return client;
}
