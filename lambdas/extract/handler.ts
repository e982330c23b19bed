import { createStageHandler } from '../adapters/stage-handler';
import { runExtract } from './extract';

/** Lambda entry of the extract stage: parse, log keys and call the core (see ./extract.ts). */
export const handler = createStageHandler('extract', runExtract);
