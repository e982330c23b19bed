import { randomUUID } from 'node:crypto';

/** A handler module's `handler`, as the local runtime calls it. */
export type LocalHandler = (event: never, context?: unknown) => Promise<unknown>;

/** One invocation's settings. */
export interface LambdaInvocation {
  /** Lambda function name (the template's logical id locally). */
  readonly functionName: string;
  /** The invocation's budget in ms: the function's configured timeout (× the runtime's scale). */
  readonly timeoutMs: number;
  /** Extra context properties (the runtime's LOCAL_BINDINGS ride here). */
  readonly extra?: Readonly<Record<string | symbol, unknown>>;
}

/** The error name Step Functions reports when a Lambda function runs out of time. */
export const LAMBDA_TIMEOUT_ERROR = 'Sandbox.Timedout';

/**
 * Lambda errors reach Step Functions as the function's `errorType` in Error and the
 * `{errorType, errorMessage, trace}` JSON in Cause.
 */
export function asLambdaError(error: unknown): Error {
  const e = error instanceof Error ? error : new Error(String(error));
  const wrapped = new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] }));
  wrapped.name = e.name;
  return wrapped;
}

/**
 * What a Lambda invocation that outlived its timeout returns: FunctionError `Unhandled` with
 * `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: … Error: Task timed out after N.NN
 * seconds"}`, which a `lambda:invoke` task reports as Error `Sandbox.Timedout` (older runtimes
 * sent no errorType, reported as `Lambda.Unknown`). Retry on `States.TaskFailed`/`States.ALL`
 * matches it; `TransientError` does not.
 */
export function lambdaTimeoutError(requestId: string, timeoutMs: number): Error {
  const error = new Error(
    JSON.stringify({ errorType: LAMBDA_TIMEOUT_ERROR, errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` }),
  );
  error.name = LAMBDA_TIMEOUT_ERROR;
  return error;
}

/**
 * Calls `handler` as Lambda would, with a context whose `getRemainingTimeInMillis()` counts down
 * from `timeoutMs` (ms, never below 0) from the moment of the call. When the handler has not
 * settled by then, the invocation fails with {@link lambdaTimeoutError}. Node cannot kill the
 * handler: its promise is abandoned and may go on running (a zombie whose late writes the stages'
 * fencing must tolerate, as at-least-once Lambda retries in AWS allow); its late result or error
 * is ignored. A handler's own error comes back as {@link asLambdaError}.
 */
export async function invokeLambda(handler: LocalHandler, event: unknown, invocation: LambdaInvocation): Promise<unknown> {
  const requestId = randomUUID();
  const deadline = Date.now() + invocation.timeoutMs;
  const context = {
    functionName: invocation.functionName,
    awsRequestId: requestId,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    ...invocation.extra,
  };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(lambdaTimeoutError(requestId, invocation.timeoutMs)), invocation.timeoutMs);
  });
  const running = Promise.resolve().then(() => handler(event as never, context));
  running.catch(() => undefined);
  try {
    return await Promise.race([
      running.catch((error: unknown) => {
        throw asLambdaError(error);
      }),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
