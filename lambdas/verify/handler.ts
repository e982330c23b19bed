import { createStageHandler } from '../adapters/stage-handler';
import { runVerify } from './load-proof';

/** Lambda entry of the verify stage: parse, log keys and call the core (see ./load-proof.ts). */
export const handler = createStageHandler('verify', runVerify);
