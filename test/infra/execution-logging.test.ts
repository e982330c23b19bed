import type { Template } from 'aws-cdk-lib/assertions';
import { parseConfig } from '../../lib/config';
import { exampleConfig, machineDefinition, templateOf } from './support';

/** Every state machine of the stack, by the prefix of its logical id. */
const MACHINES = ['SyncStateMachine', 'SyncDatasetsStateMachine', 'VerifyStateMachine'];

function loggingOf(template: Template): Record<string, unknown> {
  return Object.fromEntries(MACHINES.map((prefix) => [prefix, machineDefinition(template, prefix).properties.LoggingConfiguration]));
}

describe('execution data in the state machines’ logs', () => {
  it('logs every event but no execution data (key and cursor values) by default, on all three machines', () => {
    const logging = loggingOf(templateOf());

    for (const prefix of MACHINES) {
      expect([prefix, logging[prefix]]).toEqual([prefix, expect.objectContaining({ Level: 'ALL', IncludeExecutionData: false })]);
    }
  });

  it('logs execution data on all three machines when logExecutionData is true', () => {
    const logging = loggingOf(templateOf(parseConfig({ ...exampleConfig(), logExecutionData: true })));

    for (const prefix of MACHINES) {
      expect([prefix, logging[prefix]]).toEqual([prefix, expect.objectContaining({ Level: 'ALL', IncludeExecutionData: true })]);
    }
  });

  it('refuses a misspelt switch, naming the valid key', () => {
    expect(() => parseConfig({ ...exampleConfig(), logExecutionDta: true })).toThrow("logExecutionDta: unknown key; did you mean 'logExecutionData'?");
  });
});
