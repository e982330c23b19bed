import type { StatusReport } from '../../lambdas/core/status';
import type { LagHistory } from './lag-history';

/** What the status page receives (`/api/status` and each `status` event of `/api/stream`). */
export interface PageState {
  /** Where the data comes from, as the page says it (`local data dir …`, `stack …`). */
  readonly source: string;
  readonly status: StatusReport;
  /** Lag samples the server kept since it started, per dataset: the lag chart. */
  readonly lagHistory: LagHistory;
  /** Set when the last read of the status failed: the page shows it and keeps the last good status. */
  readonly error?: string;
}
