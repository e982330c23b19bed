import { createStageHandler } from '../adapters/stage-handler';
import { runVerify } from './verify';

/** Lambda entry of the verify stage: parse, log keys and call the core (see ./verify.ts). */
export const handler = createStageHandler('verify', runVerify);
