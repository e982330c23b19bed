/**
 * A source database and a local runtime for database-path tests that each give a dataset its own
 * table: `startDbRuntime` starts both, `sync` runs one execution, and the readers give back the
 * warehouse's column types and the extraction document. Shared by the integration test files
 * under test/integration/database-*.test.ts.
 */
import * as extractHandler from '../../lambdas/extract/handler';
import { parseConfig, type SyncproofConfig } from '../../lambdas/core/config';
import { extractionDocumentKey, extractionDocumentSchema, type ExtractionDocument } from '../../lambdas/core/extraction';
import { LocalRuntime } from '../../local/runtime';
import type { ExecutionSummary } from '../../local/runtime-options';
import type { LocalHandler } from '../../local/lambda-sandbox';
import type { Engine, TestSourceDb } from './source-db';

/** One dataset of the runtime: a source table (in the test database unless `url` says otherwise). */
export interface DbDataset {
  readonly name: string;
  readonly table: string;
  /** More `source` settings (cursorColumn defaults to `updated_at`). */
  readonly source?: Record<string, unknown>;
  /** More dataset settings (`deletes`, `content`, …). */
  readonly settings?: Record<string, unknown>;
}

export interface DbRuntime {
  readonly runtime: LocalRuntime;
  /** Extract invocations so far, per dataset. */
  readonly extractCalls: Map<string, number>;
  /** Runs one execution of `dataset` (a unique name per call). */
  sync(dataset: string, extra?: Record<string, unknown>): Promise<ExecutionSummary>;
  /** The extraction document of `execution`. */
  extraction(execution: ExecutionSummary, dataset: string): Promise<ExtractionDocument>;
  /** Rows of a warehouse query (Redshift SQL). */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** The warehouse target table of `dataset`: `public.<engine>_<dataset>` (`-` → `_`). */
  target(dataset: string): string;
  /** Keys of the objects under the dataset's `_syncproof/extracts/` prefix. */
  extractKeys(dataset: string): Promise<string[]>;
  stop(): Promise<void>;
}

function datasetOf(event: unknown): string {
  const e = event as { input?: { dataset?: unknown }; dataset?: unknown };
  return String(e.input?.dataset ?? e.dataset);
}

/** `<engine>_<dataset>`, `-` → `_`. */
function targetTable(engine: Engine, dataset: string): string {
  return `${engine}_${dataset.replace(/-/g, '_')}`;
}

/**
 * Starts a runtime whose datasets read `db` (any number: the stack bundles its configuration, no
 * environment limit applies); `settings` are more top-level configuration keys (`maxConcurrentDatasets`).
 */
export async function startDbRuntime(engine: Engine, db: TestSourceDb, datasets: readonly DbDataset[], settings: Record<string, unknown> = {}): Promise<DbRuntime> {
  const config: SyncproofConfig = parseConfig({
    ...settings,
    datasets: datasets.map((d) => ({
      name: d.name,
      target: { schema: 'public', table: targetTable(engine, d.name) },
      source: { engine, url: db.url, table: `${db.schema}.${d.table}`, cursorColumn: 'updated_at', ...d.source },
      ...d.settings,
    })),
  });
  const extractCalls = new Map<string, number>();
  const extract: LocalHandler = async (event, context) => {
    const name = datasetOf(event);
    extractCalls.set(name, (extractCalls.get(name) ?? 0) + 1);
    return (extractHandler.handler as LocalHandler)(event, context);
  };
  const runtime = await LocalRuntime.start({ config, s3Events: false, stageHandlers: { extract } });
  let runNo = 0;
  return {
    runtime,
    extractCalls,
    sync: async (dataset, extra = {}) => {
      const e = await runtime.startExecution({ dataset, ...extra }, `${engine}-${dataset}-${++runNo}`);
      if (process.env.DEBUG_DB_PATH) process.stderr.write(`${e.name}: ${e.status} ${e.run?.status} ${e.error ?? ''} ${e.cause ?? ''}\n`);
      return e;
    },
    extraction: async (execution, dataset) => extractionDocumentSchema.parse(await runtime.deps.objects.getJson(extractionDocumentKey(dataset, execution.name))),
    query: async (sql) => (await runtime.warehouse()).query(sql),
    target: (dataset) => `public.${targetTable(engine, dataset)}`,
    extractKeys: async (dataset) => {
      const prefix = config.datasets.find((d) => d.name === dataset)!.prefix;
      const keys: string[] = [];
      for await (const o of runtime.deps.objects.list(prefix)) keys.push(o.key);
      return keys;
    },
    stop: () => runtime.stop(),
  };
}
