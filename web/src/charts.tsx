import { formatCount, formatPercent } from './format';
import { HISTOGRAM_BINS, TIERS, type Tier } from './summary';

const TIER_LABELS: Record<Tier, string> = { high: 'High', medium: 'Medium', low: 'Low' };

/**
 * Customers per risk tier as horizontal bars. Drawn here in SVG (no chart library, nothing
 * fetched); the numbers are in the bars' text and in the image's label for screen readers.
 */
export function TierChart(props: { tiers: Record<Tier, number> }) {
  const total = TIERS.reduce((sum, tier) => sum + props.tiers[tier], 0);
  const largest = Math.max(1, ...TIERS.map((tier) => props.tiers[tier]));
  const label = `Risk distribution: ${TIERS.map(
    (tier) =>
      `${TIER_LABELS[tier]} ${formatCount(props.tiers[tier])} (${formatPercent(total ? props.tiers[tier] / total : 0)})`,
  ).join(', ')}.`;
  const rowHeight = 36;
  return (
    <svg
      class="chart"
      role="img"
      aria-label={label}
      viewBox={`0 0 400 ${rowHeight * TIERS.length}`}
      preserveAspectRatio="xMinYMin meet"
    >
      {TIERS.map((tier, i) => {
        const share = total ? props.tiers[tier] / total : 0;
        const width = (props.tiers[tier] / largest) * 220;
        const y = i * rowHeight;
        return (
          <g key={tier}>
            <text x="0" y={y + 22} class="chart-label">
              {TIER_LABELS[tier]}
            </text>
            <rect
              x="70"
              y={y + 6}
              width={Math.max(width, 1)}
              height="22"
              class={`bar tier-${tier}`}
            />
            <text x={78 + width} y={y + 22} class="chart-value">
              {formatCount(props.tiers[tier])} ({formatPercent(share)})
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** Customers per 0.05 of churn probability, with a table of the same counts for screen readers. */
export function ProbabilityHistogram(props: { counts: number[] }) {
  const largest = Math.max(1, ...props.counts);
  const width = 400;
  const height = 160;
  const plot = height - 24;
  const barWidth = width / HISTOGRAM_BINS;
  const range = (i: number) => `${(i * 0.05).toFixed(2)}-${((i + 1) * 0.05).toFixed(2)}`;
  const peak = props.counts.indexOf(Math.max(...props.counts));
  return (
    <figure class="histogram">
      <svg
        class="chart"
        role="img"
        aria-label={`Histogram of churn probability in ${HISTOGRAM_BINS} bins of 0.05; the most customers (${formatCount(props.counts[peak] ?? 0)}) are between ${range(peak)}. The counts are in the table that follows.`}
        viewBox={`0 0 ${width} ${height}`}
      >
        {props.counts.map((count, i) => {
          const barHeight = (count / largest) * plot;
          return (
            <rect
              key={i}
              x={i * barWidth + 1}
              y={plot - barHeight}
              width={barWidth - 2}
              height={barHeight}
              class="bar histogram-bar"
            >
              <title>
                {range(i)}: {formatCount(count)}
              </title>
            </rect>
          );
        })}
        <line x1="0" x2={width} y1={plot} y2={plot} class="axis" />
        {[0, 0.25, 0.5, 0.75, 1].map((tick) => (
          <text
            key={tick}
            x={Math.min(Math.max(tick * width, 10), width - 10)}
            y={height - 6}
            class="chart-label"
            text-anchor="middle"
          >
            {tick.toFixed(2)}
          </text>
        ))}
      </svg>
      <figcaption class="hint">
        Churn probability (0 to 1) and how many customers fall in each 0.05 band.
      </figcaption>
      <table class="visually-hidden">
        <caption>Customers per churn-probability band</caption>
        <thead>
          <tr>
            <th scope="col">Probability</th>
            <th scope="col">Customers</th>
          </tr>
        </thead>
        <tbody>
          {props.counts.map((count, i) => (
            <tr key={i}>
              <td>{range(i)}</td>
              <td>{count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

/** The most common reasons as a list with proportional bars (CSS widths set from script). */
export function CommonReasons(props: {
  reasons: Array<{ reason: string; rows: number }>;
  scored: number;
}) {
  const largest = Math.max(1, ...props.reasons.map((r) => r.rows));
  return (
    <ol class="reasons">
      {props.reasons.map((r) => (
        <li key={r.reason}>
          <span class="reason-text">{r.reason}</span>
          <span class="reason-count">
            {formatCount(r.rows)} customers (
            {formatPercent(props.scored ? r.rows / props.scored : 0)})
          </span>
          <span class="reason-bar" aria-hidden="true">
            <span style={{ width: `${(r.rows / largest) * 100}%` }} />
          </span>
        </li>
      ))}
    </ol>
  );
}
