import { createStageHandler } from '../adapters/stage-handler';
import { runCountChain, type CountChainInput } from './count-chain';

/** Lambda entry of the count tier (VerifyStateMachine's CountChain): parse, log keys, call the core (see ./count-chain.ts); the report stays in S3. */
export const handler = createStageHandler('counts', async (input: CountChainInput, deps) => {
  const { report: _stored, ...output } = await runCountChain(input, deps);
  return output;
});
