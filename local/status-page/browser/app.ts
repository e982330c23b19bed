
/**
 * The status page's browser code (bundled by esbuild with Chart.js, see ./server.ts). It renders
 * the server's PageState and re-renders on every `status` event of `/api/stream`: the page updates
 * without a reload. Text from the data is set with textContent only (names and errors are data).
 * Tests read the `data-*` attributes: `section[data-dataset]` (`data-health`), `tr[data-run-id]`
 * (`data-status`), `[data-field]`.
 */
import { BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import type { DatasetStatus, RunSummary } from '../../../lambdas/core/status';
import { formatLag } from '../../../lambdas/core/durations';
import type { PageState } from '../page-state';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip, Legend, Filler);

const charts = new Map<string, { lag: Chart; rows: Chart }>();

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string | undefined)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) if (c !== undefined) node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return node;
}

function badge(text: string, cls: string, field?: string): HTMLSpanElement {
  return el('span', { class: `badge ${cls}`, ...(field ? { 'data-field': field } : {}) }, text);
}

function time(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function duration(seconds: number | undefined): string {
  return seconds === undefined ? '—' : formatLag(Math.round(seconds));
}

function fact(label: string, value: Node | string, field: string): HTMLDivElement {
  return el('div', {}, el('span', {}, label), el('b', { 'data-field': field }, value));
}

function reportLink(uri: string | undefined): Node | string {
  return uri ? el('a', { href: `/report?uri=${encodeURIComponent(uri)}`, target: '_blank', rel: 'noopener' }, 'report') : '—';
}

function runLine(r: RunSummary | undefined, field: string): Node | string {
  if (!r) return 'none yet';
  return el('span', { 'data-field': field, 'data-run-id': r.runId }, badge(r.status, r.status), ` ${r.runId} · ${time(r.startedAt)}${r.tier ? ` · ${r.tier}` : ''}`);
}

function runsTable(runs: readonly RunSummary[]): HTMLTableElement {
  const head = el('tr', {}, ...['run', 'kind', 'mode', 'status', 'started', 'duration'].map((h) => el('th', {}, h)), ...['rows', 'files', 'cost'].map((h) => el('th', { class: 'num' }, h)), el('th', {}, 'report'), el('th', {}, 'error'));
  const rows = runs.map((r) =>
    el(
      'tr',
      { 'data-run-id': r.runId, 'data-status': r.status },
      el('td', {}, r.runId),
      el('td', {}, r.kind),
      el('td', {}, r.mode ?? '—'),
      el('td', {}, badge(r.status, r.status, 'status')),
      el('td', {}, time(r.startedAt)),
      el('td', {}, duration(r.durationSeconds)),
      el('td', { class: 'num' }, r.rows === undefined ? '—' : r.rows.toLocaleString('en-US')),
      el('td', { class: 'num' }, r.files === undefined ? '—' : r.files.toLocaleString('en-US')),
      el('td', { class: 'num' }, r.cost ? `$${r.cost.usd.toFixed(6)}` : '—'),
      el('td', {}, reportLink(r.reportUri)),
      el('td', { class: 'error' }, r.error ?? ''),
    ),
  );
  return el('table', { 'data-field': 'runs' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

function datasetSection(d: DatasetStatus, state: PageState): HTMLElement {
  const ledger = Object.entries(d.ledger)
    .map(([k, v]) => `${k} ${v}`)
    .join(' · ');
  const lagText = `${formatLag(d.lag.seconds)} (warn ${formatLag(d.lag.thresholds.warnSeconds)}, fail ${formatLag(d.lag.thresholds.failSeconds)})`;
  const section = el(
    'section',
    { class: 'dataset', 'data-dataset': d.dataset, 'data-health': d.health },
    el('h2', {}, d.dataset, badge(d.health, d.health, 'health'), el('span', { class: 'muted' }, d.kind === 'database' ? 'database dataset' : 'file dataset')),
    d.reasons.length ? el('ul', { class: 'reasons', 'data-field': 'reasons' }, ...d.reasons.map((r) => el('li', {}, r))) : undefined,
    el(
      'div',
      { class: 'facts' },
      fact('sync lag', el('span', {}, badge(d.lag.level, d.lag.level), ` ${lagText}`), 'lag'),
      fact('proven through', d.lag.provenThrough ? `${time(d.lag.provenThrough.at)} (${d.lag.provenThrough.basis})` : 'nothing proven yet', 'proven'),
      fact('last run', runLine(d.lastRun, 'last-run'), 'last-run-fact'),
      fact('last verification', runLine(d.lastVerification, 'last-verification'), 'last-verification-fact'),
      fact('ledger', ledger || 'empty', 'ledger'),
      fact('watermark', d.watermark ? `${d.watermark.cursor} / ${d.watermark.key.join(', ')}` : '—', 'watermark'),
      fact('dead letters', String(d.deadLetters), 'dead-letters'),
      fact('schedules', d.schedules.map((s) => `${s.name} ${s.expression}${s.enabled === false ? ' (disabled)' : ''}${s.onTime === false ? ' — late' : ''}`).join('; ') || 'none', 'schedules'),
    ),
    el('div', { class: 'charts' }, el('div', {}, el('canvas', { 'data-chart': 'lag' })), el('div', {}, el('canvas', { 'data-chart': 'rows' }))),
  );
  if (d.quarantined.length) {
    section.append(
      el('h3', {}, `quarantined files (${d.quarantined.length})`),
      el(
        'table',
        { 'data-field': 'quarantined' },
        el('tbody', {}, ...d.quarantined.map((q) => el('tr', { 'data-key': q.key }, el('td', {}, q.key), el('td', {}, q.etag), el('td', { class: 'error' }, q.reason ?? '')))),
      ),
    );
  }
  section.append(el('h3', {}, `runs (newest first, ${d.runs.length})`), el('div', { class: 'scroll' }, runsTable(d.runs)));
  drawCharts(section, d, state);
  return section;
}

function drawCharts(section: HTMLElement, d: DatasetStatus, state: PageState): void {
  charts.get(d.dataset)?.lag.destroy();
  charts.get(d.dataset)?.rows.destroy();
  const samples = state.lagHistory[d.dataset] ?? [];
  const runs = [...d.runs].filter((r) => r.kind !== 'verification').reverse();
  const common = { animation: false as const, responsive: true, maintainAspectRatio: false };
  const lag = new Chart(section.querySelector<HTMLCanvasElement>('canvas[data-chart="lag"]')!, {
    type: 'line',
    data: {
      labels: samples.map((s) => time(s.t).slice(11, 19)),
      datasets: [
        { label: 'lag (minutes)', data: samples.map((s) => (s.seconds === null ? null : s.seconds / 60)), borderColor: '#2b6cb0', backgroundColor: 'rgba(43,108,176,.15)', fill: true, pointRadius: 2 },
        { label: 'lagFail', data: samples.map(() => d.lag.thresholds.failSeconds / 60), borderColor: '#c53030', borderDash: [6, 4], pointRadius: 0 },
      ],
    },
    options: { ...common, scales: { y: { beginAtZero: true, title: { display: true, text: 'minutes' } } } },
  });
  const rows = new Chart(section.querySelector<HTMLCanvasElement>('canvas[data-chart="rows"]')!, {
    type: 'bar',
    data: {
      labels: runs.map((r) => time(r.startedAt).slice(5, 19)),
      datasets: [{ label: 'rows per run', data: runs.map((r) => r.rows ?? 0), backgroundColor: runs.map((r) => (r.status === 'FAILED' ? '#c53030' : '#1f8a4c')) }],
    },
    options: { ...common, scales: { y: { beginAtZero: true } } },
  });
  charts.set(d.dataset, { lag, rows });
}

function render(state: PageState): void {
  const overall = document.getElementById('overall')!;
  overall.className = `badge ${state.status.health}`;
  overall.textContent = state.status.health;
  overall.setAttribute('data-health', state.status.health);
  document.getElementById('updated')!.textContent = `updated ${time(state.status.generatedAt)}`;
  document.getElementById('source')!.textContent = state.source;
  const banner = document.getElementById('banner')!;
  banner.style.display = state.error ? 'block' : 'none';
  banner.textContent = state.error ?? '';
  const main = document.getElementById('datasets')!;
  main.replaceChildren(...state.status.datasets.map((d) => datasetSection(d, state)));
  document.body.setAttribute('data-generated-at', state.status.generatedAt);
}

async function start(): Promise<void> {
  const first = (await (await fetch('/api/status')).json()) as PageState;
  render(first);
  const stream = new EventSource('/api/stream');
  stream.addEventListener('status', (e) => render(JSON.parse((e as MessageEvent<string>).data) as PageState));
  stream.onerror = () => {
    const banner = document.getElementById('banner')!;
    banner.style.display = 'block';
    banner.textContent = 'lost the connection to the status server; retrying…';
  };
  stream.onopen = () => {
    const banner = document.getElementById('banner')!;
    if (banner.textContent?.startsWith('lost the connection')) banner.style.display = 'none';
  };
}

void start();
