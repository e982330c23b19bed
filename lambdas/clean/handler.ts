import { createStageHandler } from '../adapters/stage-handler';
import { runScheduledClean, type CleanInput } from './clean';

/** Lambda entry of the clean stage (the retention schedule's target): parse, log keys and call the core (see ./clean.ts). */
export const handler = createStageHandler('clean', (input: CleanInput, deps) => runScheduledClean(input, deps));
