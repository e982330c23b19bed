/**
 * Every state machine the stack synthesizes is valid ASL, as aws-local-stepfunctions' validator
 * (asl-validator) checks it. The local runtime skips this check at each start (it cost ~0.8 s of
 * every CLI command), so it lives here, for the example configuration and one with a database source.
 */
import { validateDefinition } from '../../local/machine-runner';
import { stateMachines, type CfnTemplate } from '../../local/template';
import { configWithDatasets, exampleConfig, sourceDataset, templateOf } from './support';

const configs = [
  ['the example configuration', exampleConfig()],
  ['a configuration with a database source', configWithDatasets(sourceDataset())],
] as const;

describe.each(configs)('state machine definitions of %s', (_, config) => {
  const machines = stateMachines(templateOf(config).toJSON() as CfnTemplate);

  it('synthesizes the three state machines', () => {
    expect(machines).toHaveLength(3);
  });

  it.each(machines.map((m) => [m.logicalId, m.definition] as const))('%s is valid ASL', (_id, definition) => {
    expect(() => validateDefinition(definition)).not.toThrow();
  });
});

it('the validator refuses a definition whose Next names no state (so the checks above can fail)', () => {
  const [machine] = stateMachines(templateOf().toJSON() as CfnTemplate);
  const states = machine!.definition.States as Record<string, Record<string, unknown>>;
  const [name, state] = Object.entries(states).find(([, s]) => typeof s.Next === 'string')!;
  const broken = { ...machine!.definition, States: { ...states, [name]: { ...state, Next: 'NoSuchState' } } };
  expect(() => validateDefinition(broken as never)).toThrow();
});
