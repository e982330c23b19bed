import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { parseConfig, type SyncproofConfig } from './config';
import { ConfigurationError } from './errors';

/**
 * The global identifier that esbuild replaces, when CDK bundles a stage Lambda (NodejsFunction
 * `bundling.define`), with a string literal: {@link encodeBundledConfig} of the stack's validated
 * configuration. The configuration ships inside the code bundle, not in the environment (Lambda
 * caps a function's environment at 4 KB), and the bundle's hash changes with it, so a deploy
 * updates every stage.
 */
export const BUNDLED_CONFIG_IDENTIFIER = 'SYNCPROOF_BUNDLED_CONFIG';

/**
 * Longest encoded configuration a bundle can carry, in bytes: esbuild receives the define as one
 * command-line argument, and Linux caps one argument at 128 KiB (MAX_ARG_STRLEN); 1 KiB is left
 * for the option's name. Deflated JSON of many dataset blocks is a tenth of its size or less, so
 * this holds more datasets than a stack's 500 CloudFormation resources allow.
 */
export const MAX_BUNDLED_CONFIG_BYTES = 127 * 1024;

/** Where {@link decodeBundledConfig} says the configuration came from, in its errors. */
export const BUNDLED_CONFIG_SOURCE = `the configuration bundled into this function (${BUNDLED_CONFIG_IDENTIFIER})`;

/**
 * What a stage Lambda's bundle carries for `config`: its JSON, deflated (raw, no header, so no
 * platform byte), in base64. One function for the stack, which bundles it, and the local runtime,
 * which decodes the same value with {@link decodeBundledConfig}, as a deployed handler does.
 */
export function encodeBundledConfig(config: SyncproofConfig): string {
  return deflateRawSync(Buffer.from(JSON.stringify(config), 'utf8')).toString('base64');
}

/**
 * Decodes a bundled configuration and validates it again (a bundle built by anything but this
 * stack's synth fails here, with every bad field named). Throws ConfigurationError.
 */
export function decodeBundledConfig(encoded: string, source: string = BUNDLED_CONFIG_SOURCE): SyncproofConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8'));
  } catch (error) {
    throw new ConfigurationError(`${source} cannot be decoded (not deflated JSON in base64); redeploy the stack`, { cause: error });
  }
  return parseConfig(raw, source);
}
