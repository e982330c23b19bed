import { createStageHandler } from '../adapters/stage-handler';
import { runChecksumSample } from './checksum';

/** Lambda entry of the checksum-sampling stage: parse, log keys and call the core (see ./checksum.ts). */
export const handler = createStageHandler('checksum', runChecksumSample);
