import { createStageHandler } from '../adapters/stage-handler';
import { runLoad } from './load';

/** Lambda entry of the load stage: parse, log keys and call the core (see ./load.ts). */
export const handler = createStageHandler('load', runLoad);
