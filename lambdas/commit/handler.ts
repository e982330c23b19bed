import { createStageHandler } from '../adapters/stage-handler';
import { runCommit } from './commit';

/** Lambda entry of the watermark commit: parse, log keys and call the core (see ./commit.ts). */
export const handler = createStageHandler('commit', runCommit);
