import { createStageHandler } from '../adapters/stage-handler';
import { runInventory } from './inventory';

/** Lambda entry of the inventory stage: parse, log keys and call the core (see ./inventory.ts). */
export const handler = createStageHandler('inventory', (input: Parameters<typeof runInventory>[0], deps) => runInventory(input, deps));
