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

/** Where the tiers start, as the model that scored the prediction draws them. */
export interface TierCutoffs {
  high: number;
  medium: number;
}

/** The tier most of a probability band falls in (by its middle). */
function tierOfBand(band: number, cutoffs: TierCutoffs): Tier {
  const middle = (band + 0.5) * 0.05;
  return middle >= cutoffs.high ? 'high' : middle >= cutoffs.medium ? 'medium' : 'low';
}

/** Up to three round counts for the vertical axis: 0, about half, the top. */
function countTicks(largest: number): number[] {
  const step = 10 ** Math.floor(Math.log10(Math.max(1, largest / 2)));
  const half = Math.max(step, Math.round(largest / 2 / step) * step);
  return half >= largest ? [0, largest] : [0, half, largest];
}

/**
 * Customers per 0.05 of churn probability, on axes (probability across, customers up), each band
 * in its tier's colour with the tiers' cut-offs marked when the model is known; with a table of
 * the same counts for screen readers.
 */
export function ProbabilityHistogram(props: { counts: number[]; cutoffs?: TierCutoffs }) {
  const largest = Math.max(1, ...props.counts);
  const left = 44;
  const width = 400;
  const plotWidth = width - left - 8;
  const height = 180;
  const top = 8;
  const plot = height - 28;
  const barWidth = plotWidth / HISTOGRAM_BINS;
  const x = (probability: number) => left + probability * plotWidth;
  const y = (count: number) => plot - (count / largest) * (plot - top);
  const range = (i: number) => `${(i * 0.05).toFixed(2)}-${((i + 1) * 0.05).toFixed(2)}`;
  const peak = props.counts.indexOf(Math.max(...props.counts));
  const { cutoffs } = props;
  return (
    <figure class="histogram">
      <svg
        class="chart"
        role="img"
        aria-label={`Histogram of churn probability in ${HISTOGRAM_BINS} bins of 0.05; the most customers (${formatCount(props.counts[peak] ?? 0)}) are between ${range(peak)}.${cutoffs ? ` Medium risk starts at ${formatPercent(cutoffs.medium)}, high at ${formatPercent(cutoffs.high)}.` : ''} The counts are in the table that follows.`}
        viewBox={`0 0 ${width} ${height}`}
      >
        {countTicks(largest).map((tick) => (
          <g key={tick}>
            <line x1={left} x2={width - 8} y1={y(tick)} y2={y(tick)} class="grid-line" />
            <text x={left - 6} y={y(tick) + 4} class="chart-label" text-anchor="end">
              {formatCount(tick)}
            </text>
          </g>
        ))}
        {props.counts.map((count, i) => (
          <rect
            key={i}
            x={left + i * barWidth + 1}
            y={y(count)}
            width={barWidth - 2}
            height={plot - y(count)}
            class={`bar histogram-bar${cutoffs ? ` tier-${tierOfBand(i, cutoffs)}` : ''}`}
          >
            <title>
              {range(i)}: {formatCount(count)}
            </title>
          </rect>
        ))}
        {cutoffs &&
          (['medium', 'high'] as const).map((tier) => (
            <line
              key={tier}
              x1={x(cutoffs[tier])}
              x2={x(cutoffs[tier])}
              y1={top}
              y2={plot}
              class={`cutoff tier-${tier}`}
            >
              <title>
                {TIER_LABELS[tier]} risk from {formatPercent(cutoffs[tier])}
              </title>
            </line>
          ))}
        <line x1={left} x2={width - 8} y1={plot} y2={plot} class="axis" />
        <line x1={left} x2={left} y1={top} y2={plot} class="axis" />
        {[0, 0.25, 0.5, 0.75, 1].map((tick) => (
          <text key={tick} x={x(tick)} y={plot + 16} class="chart-label" text-anchor="middle">
            {formatPercent(tick, 0)}
          </text>
        ))}
      </svg>
      <figcaption class="hint">
        Customers (up) by churn probability (across), in bands of 5 points
        {cutoffs ? '; coloured by risk tier, with lines where medium and high risk start.' : '.'}
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

/**
 * Predicted against observed churn per group of customers (out-of-fold): on the diagonal, a
 * predicted 30% means 30% of such customers churned. Dots grow with the group's size; the same
 * numbers are in a table for screen readers.
 */
export function CalibrationPlot(props: {
  bins: Array<{
    from: number;
    to: number;
    rows: number;
    meanPredicted: number;
    observedRate: number;
  }>;
}) {
  const [width, height] = [320, 300];
  const [left, right, top, bottom] = [62, 12, 10, 42];
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const x = (p: number) => left + p * plotWidth;
  const y = (p: number) => top + (1 - p) * plotHeight;
  const bins = props.bins.filter((bin) => bin.rows > 0);
  const most = Math.max(1, ...bins.map((bin) => bin.rows));
  const worst = bins.reduce<(typeof bins)[number] | undefined>(
    (found, bin) =>
      !found ||
      Math.abs(bin.observedRate - bin.meanPredicted) >
        Math.abs(found.observedRate - found.meanPredicted)
        ? bin
        : found,
    undefined,
  );
  const label = `Calibration plot: predicted against observed churn in ${bins.length} groups of customers.${
    worst
      ? ` The largest gap: predicted ${formatPercent(worst.meanPredicted)}, observed ${formatPercent(worst.observedRate)}.`
      : ''
  } The numbers are in the table that follows.`;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <figure class="calibration">
      <svg
        class="chart square-chart"
        role="img"
        aria-label={label}
        viewBox={`0 0 ${width} ${height}`}
      >
        {ticks.map((tick) => (
          <g key={tick}>
            <line x1={x(0)} x2={x(1)} y1={y(tick)} y2={y(tick)} class="grid" />
            <line x1={x(tick)} x2={x(tick)} y1={y(0)} y2={y(1)} class="grid" />
            <text x={left - 6} y={y(tick) + 4} class="chart-label" text-anchor="end">
              {formatPercent(tick, 0)}
            </text>
            <text x={x(tick)} y={y(0) + 16} class="chart-label" text-anchor="middle">
              {formatPercent(tick, 0)}
            </text>
          </g>
        ))}
        <line x1={x(0)} y1={y(0)} x2={x(1)} y2={y(1)} class="diagonal" />
        <polyline
          class="calibration-line"
          points={bins.map((bin) => `${x(bin.meanPredicted)},${y(bin.observedRate)}`).join(' ')}
        />
        {bins.map((bin) => (
          <circle
            key={bin.from}
            cx={x(bin.meanPredicted)}
            cy={y(bin.observedRate)}
            r={3 + 5 * Math.sqrt(bin.rows / most)}
            class="calibration-point"
          >
            <title>
              {formatCount(bin.rows)} customers: predicted {formatPercent(bin.meanPredicted)},
              observed {formatPercent(bin.observedRate)}
            </title>
          </circle>
        ))}
        <text x={x(0.5)} y={height - 4} class="chart-label" text-anchor="middle">
          Predicted churn probability
        </text>
        <text x={-y(0.5)} y="12" class="chart-label" text-anchor="middle" transform="rotate(-90)">
          Share that churned
        </text>
      </svg>
      <figcaption class="hint">
        Each dot is a group of customers with similar predictions, larger for more customers. On the
        dashed diagonal, predicted and actual churn agree.
      </figcaption>
      {/* Hidden in a box of its own: a hidden table's cells would still widen a phone's page. */}
      <div class="visually-hidden">
        <table>
          <caption>Predicted and observed churn per group of customers</caption>
          <thead>
            <tr>
              <th scope="col">Predicted between</th>
              <th scope="col">Customers</th>
              <th scope="col">Mean predicted</th>
              <th scope="col">Churned</th>
            </tr>
          </thead>
          <tbody>
            {bins.map((bin) => (
              <tr key={bin.from}>
                <td>
                  {formatPercent(bin.from, 0)} and {formatPercent(bin.to, 0)}
                </td>
                <td>{bin.rows}</td>
                <td>{formatPercent(bin.meanPredicted)}</td>
                <td>{formatPercent(bin.observedRate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

/**
 * How much each input moves the scores, largest first: bars drawn with CSS (like the reasons) so
 * the names keep the page's text size on a phone and on a wide screen alike.
 */
export function ImportanceChart(props: { importance: Array<{ column: string; share: number }> }) {
  const largest = Math.max(0.0001, ...props.importance.map((entry) => entry.share));
  return (
    <ol class="importance" aria-label="Importance of each input, largest first">
      {props.importance.map((entry) => (
        <li key={entry.column}>
          <span class="importance-name">{entry.column}</span>
          <span class="importance-track" aria-hidden="true">
            <span style={{ width: `${(entry.share / largest) * 100}%` }} />
          </span>
          <span class="importance-share">{formatPercent(entry.share)}</span>
        </li>
      ))}
    </ol>
  );
}
