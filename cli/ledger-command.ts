import { hostname, userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { DynamoDbLedgerStore } from '../lambdas/adapters/dynamodb-stores';
import type { LedgerEntry, LedgerStatus } from '../lambdas/core/ports';
import { nearestName } from '../lambdas/core/nearest-name';
import { CliError } from './errors';
import {
  LEDGER_STATES,
  byKeyThenEtag,
  countStates,
  decideRetry,
  decideSetAside,
  formatList,
  formatShow,
  normalizeEtag,
  oneLine,
  viewOf,
} from './ledger-format';
import { writeJsonReport } from './json-file';
import type { LedgerTarget } from './ledger-target';
import { onStateTable, whereText, withTargetOptions, type TargetFlags } from './state-target';

/** Datasets scanned for, at most, when a dataset name is unknown (a hint, not a full scan of a large ledger). */
const DATASET_HINT_ITEMS = 10_000;

/** Opens the ledger, runs `work`, closes it; DynamoDB failures become one-line CliErrors. */
function onLedger<T>(flags: TargetFlags, work: (target: LedgerTarget) => Promise<T>): Promise<T> {
  return onStateTable(flags, 'ledger', (t) => work({ ledger: new DynamoDbLedgerStore(t.client, t.table), description: t.description, close: () => t.close() }));
}

async function collect(entries: AsyncIterable<LedgerEntry>): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for await (const e of entries) out.push(e);
  return out;
}

function requireObjectKey(key: string): string {
  const m = /^s3:\/\/[^/]+\/(.+)$/.exec(key);
  if (m) throw new CliError(`give the object key without s3://BUCKET/, e.g. '${m[1]}'`);
  if (key.length === 0) throw new CliError('the object key is empty');
  return key;
}

/** Exit 3 for a dataset without entries, with the closest dataset name the ledger holds. */
async function unknownDataset(target: LedgerTarget, dataset: string): Promise<CliError> {
  const known = await target.ledger.sampleDatasets(DATASET_HINT_ITEMS);
  const near = nearestName(dataset, known.names);
  const listed = known.names.length === 0 ? 'the ledger is empty' : `datasets in the ledger: ${known.names.join(', ')}${known.complete ? '' : ', …'}`;
  return new CliError(
    `no ledger entries for dataset '${dataset}' in ${whereText(target.description)}: unknown dataset, or none of its files discovered yet` +
      `${near && near !== dataset ? `; did you mean '${near}'?` : ''} (${listed})`,
  );
}

interface ListFlags extends TargetFlags {
  state?: LedgerStatus;
  json?: string;
}

function listCommand(): Command {
  return withTargetOptions(
    new Command('list')
      .description('list the ledger entries of a dataset, sorted by key, with a count per state')
      .argument('<dataset>', 'dataset name (as in the configuration)')
      .addOption(new Option('--state <state>', 'only entries in this state').choices(LEDGER_STATES))
      .option('--json <file>', 'also write the entries and counts as JSON to this file'),
  ).action(async (dataset: string, flags: ListFlags) => {
    await onLedger(flags, async (target) => {
      const now = new Date();
      const entries = (await collect(target.ledger.listDataset(dataset))).sort(byKeyThenEtag);
      if (entries.length === 0) throw await unknownDataset(target, dataset);
      const counts = countStates(entries);
      const shown = entries.filter((e) => flags.state === undefined || e.status === flags.state).map((e) => viewOf(e, now));
      if (flags.json) {
        await writeJsonReport(flags.json, {
          command: 'ledger list',
          at: now.toISOString(),
          target: target.description,
          dataset,
          state: flags.state ?? null,
          counts,
          total: entries.length,
          entries: shown,
        });
      }
      process.stdout.write(`${formatList(dataset, shown, counts, flags.state)}\n`);
    });
  });
}

interface ShowFlags extends TargetFlags {
  etag?: string;
  json?: string;
}

function showCommand(): Command {
  return withTargetOptions(
    new Command('show')
      .description('show every version (ETag) of an object key with all its ledger fields')
      .argument('<key>', 'S3 object key (without s3://BUCKET/)')
      .option('--etag <etag>', 'only this version')
      .option('--json <file>', 'also write the versions as JSON to this file'),
  ).action(async (rawKey: string, flags: ShowFlags) => {
    const key = requireObjectKey(rawKey);
    const etag = flags.etag === undefined ? undefined : normalizeEtag(flags.etag);
    await onLedger(flags, async (target) => {
      const now = new Date();
      const all = await collect(target.ledger.versions(key));
      if (all.length === 0) throw new CliError(`no ledger entry for '${key}' in ${whereText(target.description)}; check the key (\`syncproof ledger list DATASET\` lists them)`);
      const versions = all
        .filter((e) => etag === undefined || e.etag === etag)
        .sort((a, b) => (a.lastModified === b.lastModified ? byKeyThenEtag(a, b) : a.lastModified < b.lastModified ? -1 : 1))
        .map((e) => viewOf(e, now));
      if (versions.length === 0) throw new CliError(`'${key}' has no version with ETag ${etag}; its versions: ${all.map((e) => e.etag).join(', ')}`);
      if (flags.json) await writeJsonReport(flags.json, { command: 'ledger show', at: now.toISOString(), target: target.description, key, etag: etag ?? null, versions });
      process.stdout.write(`${formatShow(key, versions)}\n`);
    });
  });
}

interface RetryFlags extends TargetFlags {
  etag?: string;
}

function retryCommand(): Command {
  return withTargetOptions(
    new Command('retry')
      .description('release a failed, quarantined or forgotten entry so the next run loads it (refuses loaded and loading entries: exit 2)')
      .argument('<dataset>', 'dataset name')
      .argument('<key>', 'S3 object key (without s3://BUCKET/)')
      .option('--etag <etag>', 'the version to retry (needed when the key has several failed or quarantined versions)'),
  ).action(async (dataset: string, rawKey: string, flags: RetryFlags) => {
    const key = requireObjectKey(rawKey);
    const etag = flags.etag === undefined ? undefined : normalizeEtag(flags.etag);
    await onLedger(flags, async (target) => {
      const decision = decideRetry(dataset, key, etag, await collect(target.ledger.versions(key)), new Date());
      if (decision.action === 'error') throw new CliError(decision.message, 3);
      if (decision.action === 'refuse') throw new CliError(decision.message, 2);
      if (decision.action === 'none') {
        process.stdout.write(`${decision.message}\n`);
        return;
      }
      const before = decision.entry;
      if (!(await target.ledger.release(before.key, before.etag, new Date().toISOString()))) {
        // The entry moved between the read and the conditional write (a run claimed it, or another retry).
        const now = await target.ledger.get(before.key, before.etag);
        throw new CliError(`'${key}' (ETag ${before.etag}) changed while retrying: it is now ${now?.status ?? 'gone'}; run \`syncproof ledger show ${key}\``, 2);
      }
      const after = await target.ledger.get(before.key, before.etag);
      process.stdout.write(
        `released '${key}' (ETag ${before.etag}): ${before.status} → ${after?.status ?? '?'}; the next run of dataset '${dataset}' loads it\n` +
          `  it was ${before.status}: ${oneLine(before.reason ?? '(no reason recorded)')}\n`,
      );
    });
  });
}

interface SetAsideFlags extends TargetFlags {
  etag?: string;
  reason: string;
  by?: string;
}

/** Who runs the command, as recorded when `--by` is not given: user@host. */
function operator(): string {
  let user = process.env.USER ?? process.env.USERNAME ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container): the environment's name stands
  }
  return `${user}@${hostname()}`;
}

const SET_ASIDE = {
  quarantined: {
    command: 'quarantine',
    description: 'set a file aside as quarantined: never loaded, reported as quarantined (undo: ledger retry)',
    effect: 'the next runs never load it and report it as quarantined',
  },
  forgotten: {
    command: 'forget',
    description: 'set a file aside as forgotten: never loaded and no longer reported as not loaded; the entry keeps who, when and why (undo: ledger retry)',
    effect: 'the next runs never offer it, and inventories no longer count it as not loaded',
  },
} as const;

function setAsideCommand(status: 'quarantined' | 'forgotten'): Command {
  const what = SET_ASIDE[status];
  return withTargetOptions(
    new Command(what.command)
      .description(what.description)
      .argument('<dataset>', 'dataset name')
      .argument('<key>', 'S3 object key (without s3://BUCKET/)')
      .requiredOption('--reason <text>', 'why (recorded in the entry, with who and when)')
      .option('--etag <etag>', 'the version (needed when the key has several versions not loaded)')
      .option('--by <name>', 'who decides (recorded); default: user@host'),
  ).action(async (dataset: string, rawKey: string, flags: SetAsideFlags) => {
    const key = requireObjectKey(rawKey);
    const reason = flags.reason.trim();
    if (reason.length === 0) throw new CliError('--reason is empty: say why the file is set aside (it is recorded in the ledger entry)');
    const etag = flags.etag === undefined ? undefined : normalizeEtag(flags.etag);
    const by = flags.by?.trim() || operator();
    await onLedger(flags, async (target) => {
      const decision = decideSetAside(dataset, key, etag, await collect(target.ledger.versions(key)), status, new Date());
      if (decision.action === 'error') throw new CliError(decision.message, 3);
      if (decision.action === 'refuse') throw new CliError(decision.message, 2);
      const before = decision.entry;
      const now = new Date().toISOString();
      if (!(await target.ledger.setAside(before.key, before.etag, before.fence, status, reason, by, now))) {
        const moved = await target.ledger.get(before.key, before.etag);
        throw new CliError(`'${key}' (ETag ${before.etag}) changed while setting it aside: it is now ${moved?.status ?? 'gone'}; run \`syncproof ledger show ${key}\` and try again`, 2);
      }
      process.stdout.write(
        `${status} '${key}' (ETag ${before.etag}): ${before.status} → ${status}, by ${by} at ${now}: ${oneLine(reason)}\n` +
          `  ${what.effect}; \`syncproof ledger retry ${dataset} ${key}\` undoes it\n`,
      );
    });
  });
}

/**
 * `syncproof ledger list|show|retry|quarantine|forget`: the file ledger for operators, on the local state
 * (`--data-dir`), a running local runtime (`--endpoint`) or a deployed stack (`--stack`).
 * Exit codes: 0 ok, 2 refused (retry, quarantine or forget of a loaded or loading entry), 3 error.
 */
export function ledgerCommand(): Command {
  return new Command('ledger')
    .description('inspect the file ledger; retry, quarantine or forget files')
    .exitOverride()
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(retryCommand())
    .addCommand(setAsideCommand('quarantined'))
    .addCommand(setAsideCommand('forgotten'));
}
