import { createStageHandler } from '../adapters/stage-handler';
import { runDiscover } from './discover';

/** Lambda entry of the discover stage: parse, log keys and call the core (see ./discover.ts). */
export const handler = createStageHandler('discover', runDiscover);
