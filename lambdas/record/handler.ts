import { createStageHandler } from '../adapters/stage-handler';
import { runRecord } from './record';

/** Lambda entry of the record stage: parse, log keys and call the core (see ./record.ts). */
export const handler = createStageHandler('record', runRecord);
