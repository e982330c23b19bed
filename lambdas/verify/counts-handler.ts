import { createStageHandler } from '../adapters/stage-handler';
import { runContentTier, type ContentTierInput } from './content';
import { runCountChain, type CountChainInput } from './count-chain';

/**
 * Lambda entry of the verification tiers that read the source and the warehouse (the role with
 * source secrets/VPC, the Data API and the bucket): the count chain (VerifyStateMachine's
 * CountChain, see ./count-chain.ts) and, for input `{"tier": "content" | "sampled"}`, the content
 * tier (ContentCheck, see ./content.ts). Reports stay in S3; the output is the verdict and its URI.
 */
export const handler = createStageHandler('counts', async (input: (CountChainInput & { contentTier?: undefined }) | (ContentTierInput & { contentTier: true }), deps) => {
  if (input.contentTier) {
    const { contentTier: _tier, ...rest } = input;
    const { report: _stored, ...output } = await runContentTier(rest, deps);
    // Always present (null: nothing to propagate, nothing to repair), so the state's ResultSelector can select them.
    return { ...output, deletion: output.deletion ?? null, repair: output.repair ?? null };
  }
  const { report: _stored, ...output } = await runCountChain(input, deps);
  return output;
});
