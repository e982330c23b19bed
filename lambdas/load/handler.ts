import { createStageHandler } from '../adapters/stage-handler';
import { deletionRequestSchema } from '../core/deletes';
import { InvalidInputError } from '../core/errors';
import { propagateDeletes } from './deletes';
import { runLoad, type LoadInput } from './load';

/**
 * Lambda entry of the load stage: parse, log keys and call the core (see ./load.ts). With input
 * `{"deletion": {"requestKey": …}}` (the VerifyStateMachine's PropagateDeletes state) it applies the
 * deletion a content comparison proved and left in S3 (./deletes.ts propagateDeletes): the load
 * role already holds what that path needs (ledger writes, the dataset's lock, the COPY role).
 */
export const handler = createStageHandler('load', async (input: LoadInput & { deletion?: { requestKey?: unknown } }, deps) => {
  if (input.deletion === undefined) return runLoad(input, deps);
  const key = input.deletion.requestKey;
  if (typeof key !== 'string') throw new InvalidInputError('invalid deletion input: deletion.requestKey: required: the S3 key of the DeletionRequest a content check wrote');
  const request = deletionRequestSchema.parse(await deps.objects.getJson(key));
  const { runId: _run, dataset: _dataset, ...output } = await propagateDeletes(request, deps);
  return output;
});
