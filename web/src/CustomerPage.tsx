import { useEffect, useRef, useState } from 'preact/hooks';
import { type ApiFailure, api, asFailure, type Customer, unwrap } from './api';
import { formatPercent, formatTime } from './format';
import { onLinkClick } from './router';
import { CHANGE_WORDS, Trend } from './Trend';

type Score = Customer['scores'][number];

/**
 * One customer across the user's predictions: the latest risk with its reasons and what to do,
 * the probability over time, and every scoring with the file it came from. Customers are matched
 * by id, ignoring case; with `modelId`, only predictions made with that model.
 */
export function CustomerPage(props: { id: string; modelId: string | null }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [problem, setProblem] = useState<ApiFailure | null>(null);

  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    document.title = `Customer ${props.id} - Churnline`;
  }, [props.id]);
  useEffect(() => {
    unwrap(
      api.GET('/v1/customers/{customerId}', {
        params: {
          path: { customerId: props.id },
          query: props.modelId ? { modelId: props.modelId } : {},
        },
      }),
    ).then(setCustomer, (failure: unknown) => setProblem(asFailure(failure)));
  }, [props.id, props.modelId]);

  const latest = customer?.latest ?? null;
  const last = customer?.scores.at(-1);
  return (
    <>
      <p class="breadcrumb">
        <a href="/" onClick={onLinkClick}>
          Predictions
        </a>
        {last && (
          <>
            {' / '}
            <a href={`/predictions/${last.predictionId}`} onClick={onLinkClick}>
              {last.filename}
            </a>
          </>
        )}
      </p>
      <h1 tabIndex={-1} ref={heading}>
        Customer {props.id}
      </h1>
      {problem && (
        <p class="error" role="alert">
          {problem.message}
        </p>
      )}
      {!customer && !problem && <p class="loading">Loading the customer...</p>}
      {customer && last && (
        <>
          <dl class="cards">
            <div class={`card tier-${last.riskTier}`}>
              <dt>Churn probability now</dt>
              <dd class="card-value">{formatPercent(last.churnProbability)}</dd>
              <dd>
                <span class={`tier tier-${last.riskTier}`}>{last.riskTier} risk</span>{' '}
                <Trend
                  change={customer.scores.length > 1 ? last.change : null}
                  previous={last.previousProbability}
                  now={last.churnProbability}
                />
              </dd>
            </div>
            <div class="card">
              <dt>Scored</dt>
              <dd class="card-value">{customer.scores.length}×</dd>
              <dd class="hint">last {formatTime(last.scoredAt)}</dd>
            </div>
          </dl>
          {latest && (
            <section class="panel" aria-labelledby="now-title">
              <h2 id="now-title">What to do</h2>
              {latest.recommendedAction && <p class="next-step">{latest.recommendedAction}</p>}
              {latest.topReasons.length > 0 ? (
                <>
                  <p class="hint">Why the risk is what it is (strongest first):</p>
                  <ul class="row-reasons">
                    {latest.topReasons.map((reason) => (
                      <li key={reason}>{reason}</li>
                    ))}
                  </ul>
                </>
              ) : (
                <p class="hint">No reasons were recorded for this customer.</p>
              )}
              {latest.protectiveFactors.length > 0 && (
                <>
                  <p class="hint">What keeps the risk down:</p>
                  <ul class="row-reasons">
                    {latest.protectiveFactors.map((reason) => (
                      <li key={reason}>{reason}</li>
                    ))}
                  </ul>
                </>
              )}
              <details>
                <summary>The customer's row in {last.filename}</summary>
                <dl class="own-values">
                  {Object.entries(latest.values).map(([column, value]) => (
                    <div key={column}>
                      <dt>{column}</dt>
                      <dd>{value}</dd>
                    </div>
                  ))}
                </dl>
              </details>
            </section>
          )}
          <section class="panel" aria-labelledby="timeline-title">
            <h2 id="timeline-title">Churn probability over time</h2>
            {customer.scores.length > 1 ? (
              <Timeline scores={customer.scores} />
            ) : (
              <p class="empty">
                Scored once so far: the next prediction with this customer will show how the risk
                moves.
              </p>
            )}
            {customer.more && (
              <p class="hint">
                The latest {customer.scores.length} scorings; older ones are in each prediction's
                results.
              </p>
            )}
            <div class="table-scroll">
              <table class="rows">
                <thead>
                  <tr>
                    <th scope="col">Scored</th>
                    <th scope="col">File</th>
                    <th scope="col" class="hide-on-phone">
                      Model
                    </th>
                    <th scope="col" class="number">
                      Probability
                    </th>
                    <th scope="col">Tier</th>
                    <th scope="col">Change</th>
                  </tr>
                </thead>
                <tbody>
                  {[...customer.scores].reverse().map((score) => (
                    <tr key={score.predictionId}>
                      <td>{formatTime(score.scoredAt)}</td>
                      <td>
                        <a href={`/predictions/${score.predictionId}`} onClick={onLinkClick}>
                          {score.filename}
                        </a>{' '}
                        <span class="hint">row {score.row}</span>
                      </td>
                      <td class="hide-on-phone">{score.modelId}</td>
                      <td class="number">{formatPercent(score.churnProbability)}</td>
                      <td>
                        <span class={`tier tier-${score.riskTier}`}>{score.riskTier}</span>
                      </td>
                      <td>
                        {score.change === null
                          ? '(earlier scoring not shown)'
                          : score.previousProbability === null
                            ? 'First scoring'
                            : CHANGE_WORDS[score.change]}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </>
  );
}

/** The probability at each scoring, oldest left, each point in its tier's colour. */
function Timeline(props: { scores: Score[] }) {
  const { scores } = props;
  const width = 600;
  const height = 180;
  const left = 44;
  const right = 16;
  const top = 12;
  const bottom = 28;
  const x = (i: number) => left + (i * (width - left - right)) / Math.max(1, scores.length - 1);
  const y = (p: number) => top + (1 - p) * (height - top - bottom);
  // Dates tell scorings apart unless two fall on one day; then times do.
  const days = new Set(scores.map((s) => new Date(s.scoredAt).toDateString()));
  const pointLabel = (iso: string) =>
    new Date(iso).toLocaleString(
      undefined,
      days.size === scores.length
        ? { month: 'short', day: 'numeric' }
        : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' },
    );
  const label = `Churn probability at each scoring: ${scores
    .map((s) => `${formatTime(s.scoredAt)} ${formatPercent(s.churnProbability)} (${s.riskTier})`)
    .join('; ')}.`;
  return (
    <svg class="chart timeline" role="img" aria-label={label} viewBox={`0 0 ${width} ${height}`}>
      {[0, 0.25, 0.5, 0.75, 1].map((p) => (
        <g key={p}>
          <line x1={left} x2={width - right} y1={y(p)} y2={y(p)} class="grid-line" />
          <text x={left - 6} y={y(p) + 4} class="axis-label" text-anchor="end">
            {Math.round(p * 100)}%
          </text>
        </g>
      ))}
      <polyline
        class="timeline-line"
        fill="none"
        points={scores.map((s, i) => `${x(i)},${y(s.churnProbability)}`).join(' ')}
      />
      {scores.map((s, i) => (
        <g key={s.predictionId}>
          <circle cx={x(i)} cy={y(s.churnProbability)} r="5" class={`point tier-${s.riskTier}`} />
          <text x={x(i)} y={height - 8} class="axis-label" text-anchor="middle">
            {pointLabel(s.scoredAt)}
          </text>
        </g>
      ))}
    </svg>
  );
}
