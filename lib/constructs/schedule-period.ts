/**
 * The longest time between two ticks of an EventBridge schedule expression, in seconds, or
 * undefined when it cannot be told without a calendar (a cron on days of the month or of the
 * year). `rate(n unit)` is n units; a cron that runs every day (day-of-month and day-of-week
 * `*` or `?`) is at most one day apart, one on days of the week at most seven.
 */
export function schedulePeriodSeconds(expression: string): number | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (rate) {
    const unit = rate[2]!.startsWith('minute') ? 60 : rate[2]!.startsWith('hour') ? 3600 : 86_400;
    return Number(rate[1]) * unit;
  }
  const cron = /^cron\((.+)\)$/.exec(expression.trim());
  if (!cron) return undefined;
  const [, , dayOfMonth, month, dayOfWeek, year] = cron[1]!.trim().split(/\s+/);
  const any = (f: string | undefined) => f === '*' || f === '?';
  if (!any(month) || !any(year)) return undefined;
  if (any(dayOfMonth) && any(dayOfWeek)) return 86_400;
  if (any(dayOfMonth)) return 7 * 86_400;
  return undefined;
}
