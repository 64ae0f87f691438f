import type { CustomerChange } from './api';
import { formatPercent } from './format';

/** What each change is called where a user reads it. */
export const CHANGE_WORDS: Record<CustomerChange, string> = {
  newly_high_risk: 'Newly high risk',
  worsened: 'Worsened',
  improved: 'Improved',
  new: 'New',
  unchanged: 'Unchanged',
};

/**
 * How a customer's churn probability moved since the previous prediction with the same model:
 * "▲ 12.3 pts" from what it was, or "New" for a customer the previous file did not have. Empty
 * when nothing was compared (a first prediction, a file without customer ids).
 */
export function Trend(props: {
  change: CustomerChange | null;
  previous: number | null;
  now: number | null;
}) {
  const { change, previous, now } = props;
  if (change === null || now === null) return null;
  if (change === 'new' || previous === null) return <span class="trend trend-new">New</span>;
  const points = (now - previous) * 100;
  const rounded = Math.round(points * 10) / 10;
  const direction = rounded > 0 ? 'up' : rounded < 0 ? 'down' : 'flat';
  const arrow = direction === 'up' ? '▲' : direction === 'down' ? '▼' : '→';
  return (
    <span class={`trend trend-${direction}`} title={`Was ${formatPercent(previous)}`}>
      <span aria-hidden="true">
        {arrow} {rounded === 0 ? '0' : `${rounded > 0 ? '+' : ''}${rounded.toFixed(1)}`} pts
      </span>
      <span class="visually-hidden">
        {direction === 'flat'
          ? `unchanged from ${formatPercent(previous)}`
          : `${direction} ${Math.abs(rounded).toFixed(1)} points from ${formatPercent(previous)}`}
      </span>
      {change === 'newly_high_risk' && <span class="trend-badge">newly high</span>}
    </span>
  );
}
