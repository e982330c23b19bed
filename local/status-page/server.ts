/**
 * The status page (issue #16 item 6): one HTTP server on 127.0.0.1 serving a page that shows every
 * dataset's health, lag, last runs, verdicts, quarantined files and links to the reports, with a
 * chart of lag and of rows per run. It updates live without a reload: the page listens to a
 * server-sent event stream (`/api/stream`) that carries the status whenever it changes.
 *
 * The server only reads: the status comes from `status()` (the same `collectStatus` that
 * `syncproof status` prints), and a report link is served only for a URI the current status names.
 * The browser code (./app.ts, with Chart.js) is bundled by esbuild when the server starts.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { StatusReport } from '../../lambdas/core/status';
import { lagHistoryPoint } from './lag-history';
import type { PageState } from './page-state';
import { PAGE_HTML } from './html';

/** What the page shows and where it reads it. */
export interface StatusPageOptions {
  /** The current status (read on every poll). */
  readonly status: () => Promise<StatusReport>;
  /** A report's JSON by its URI (`s3://bucket/key`); undefined when it cannot be read. */
  readonly readReport: (uri: string) => Promise<unknown>;
  /** @default 0: a free port */
  readonly port?: number;
  /** How often the server reads the status for the live stream, in ms. @default 2000 */
  readonly pollMs?: number;
  /** Lag samples kept per dataset for the lag chart. @default 720 (a day at 2 min; an hour at 5 s) */
  readonly historySize?: number;
  /** Where the page says its data comes from (`local data dir …`, `stack …`). */
  readonly source: string;
}

/** A running status page. */
export interface StatusPage {
  readonly url: string;
  /** Reads the status now and pushes it to every open page (the poll does this on its own). */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

let bundle: Promise<string> | undefined;

/** The page's script: ./app.ts and Chart.js, bundled once per process. */
function appBundle(): Promise<string> {
  bundle ??= import('esbuild').then(async (esbuild) => {
    const out = await esbuild.build({
      entryPoints: [join(__dirname, 'browser', 'app.ts')],
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      minify: true,
      legalComments: 'none',
      logLevel: 'silent',
    });
    return out.outputFiles[0]!.text;
  });
  return bundle;
}

/** Starts the status page server on 127.0.0.1. */
export async function startStatusPage(options: StatusPageOptions): Promise<StatusPage> {
  const pollMs = options.pollMs ?? 2000;
  const historySize = options.historySize ?? 720;
  const history: Record<string, { t: string; seconds: number | null }[]> = {};
  const streams = new Set<ServerResponse>();
  let state: PageState | undefined;
  let digest = '';
  let reading: Promise<void> | undefined;

  const read = (): Promise<void> => {
    reading ??= (async () => {
      try {
        const status = await options.status();
        for (const d of status.datasets) lagHistoryPoint(history, d.dataset, status.generatedAt, d.lag.seconds, historySize);
        state = { source: options.source, status, lagHistory: history };
      } catch (error) {
        if (state) state = { ...state, error: `could not read the status: ${error instanceof Error ? error.message : String(error)}` };
        else throw error;
      }
      const text = JSON.stringify(state);
      const next = createHash('sha256').update(text).digest('hex');
      if (next !== digest) {
        digest = next;
        for (const s of streams) s.write(`event: status\ndata: ${text}\n\n`);
      }
    })().finally(() => {
      reading = undefined;
    });
    return reading;
  };

  const reportUris = (): Set<string> => {
    const uris = new Set<string>();
    for (const d of state?.status.datasets ?? []) {
      for (const r of [d.lastRun, d.lastVerification, ...d.runs]) if (r?.reportUri) uris.add(r.reportUri);
    }
    return uris;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'only GET');
    if (url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', PAGE_HTML);
    if (url.pathname === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', await appBundle());
    if (url.pathname === '/api/status') {
      await read();
      return send(res, 200, 'application/json', JSON.stringify(state));
    }
    if (url.pathname === '/api/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      streams.add(res);
      req.on('close', () => streams.delete(res));
      if (state) res.write(`event: status\ndata: ${JSON.stringify(state)}\n\n`);
      return;
    }
    if (url.pathname === '/report') {
      const uri = url.searchParams.get('uri') ?? '';
      if (!reportUris().has(uri)) return send(res, 404, 'text/plain', `no report ${uri} in the current status`);
      const report = await options.readReport(uri);
      if (report === undefined) return send(res, 404, 'text/plain', `report ${uri} could not be read`);
      return send(res, 200, 'application/json', JSON.stringify(report, null, 2));
    }
    return send(res, 404, 'text/plain', 'not found');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain', error instanceof Error ? error.message : String(error));
      else res.end();
    });
  });
  await read();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  await appBundle();
  const timer = setInterval(() => void read().catch(() => undefined), pollMs);
  const heartbeat = setInterval(() => {
    for (const s of streams) s.write(': keep-alive\n\n');
  }, 15_000);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    refresh: read,
    stop: async () => {
      clearInterval(timer);
      clearInterval(heartbeat);
      for (const s of streams) s.end();
      streams.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
