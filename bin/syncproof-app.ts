import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfigFile } from '../lib/config';
import { SyncproofStack } from '../lib/syncproof-stack';

/**
 * CDK app entry (cdk.json `app`). The configuration file comes from context `config`, a path
 * relative to the working directory: `cdk synth -c config=my.config.json`. cdk-nag's AwsSolutions
 * checks run on every synth (cdk-nag 3 is a CDK validation plugin); an unacknowledged finding fails it.
 */
const app = new App();
const configPath: unknown = app.node.tryGetContext('config');
if (typeof configPath !== 'string' || configPath.length === 0) {
  throw new Error('context "config" must name the configuration file, e.g. cdk synth -c config=syncproof.config.example.json');
}
new SyncproofStack(app, 'Syncproof', { config: loadConfigFile(resolve(process.cwd(), configPath)) });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
