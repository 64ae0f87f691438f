import type { ModelCard, ModelDetail } from './api';
import { CalibrationPlot, ImportanceChart } from './charts';
import { formatCount, formatPercent } from './format';
import { metricLines } from './models';

/** A ready model's card: how well it predicts, what drives it, its tiers, how it was made. */
export function ModelCardView(props: { model: ModelDetail; card: ModelCard }) {
  const { model, card } = props;
  const cv = card.crossValidation;
  const best = card.bestSingleColumn;
  return (
    <>
      {card.warnings.length > 0 && (
        <section class="panel warnings" aria-labelledby="warnings-title">
          <h2 id="warnings-title">Check before you trust it</h2>
          <ul>
            {card.warnings.map((warning) => (
              <li key={warning}>{warning}</li>
            ))}
          </ul>
        </section>
      )}
      <section class="panel" aria-labelledby="metrics-title">
        <h2 id="metrics-title">How well it predicts</h2>
        <p class="hint">
          Measured on customers the model did not learn from ({cv.folds}-fold cross-validation,
          repeated {cv.repeats} times).
          {best && model.metrics
            ? ` The best single column, ${best.column}, ranks churners with a ROC AUC of ${best.rocAuc.toFixed(3)} on its own; the model reaches ${model.metrics.rocAuc.toFixed(3)}.`
            : ''}
        </p>
        <dl class="cards metric-cards">
          <div class="card" data-metric="baseRate">
            <dt>Churn rate</dt>
            <dd class="card-value">{formatPercent(card.baseRate)}</dd>
            <dd class="hint">
              {model.churners !== null && model.rows !== null
                ? `${formatCount(model.churners)} of ${formatCount(model.rows)} customers it learned from churned.`
                : 'Share of the customers it learned from who churned.'}
            </dd>
          </div>
          {model.metrics &&
            metricLines(model.metrics, card.baseRate).map((metric) => (
              <div class="card" key={metric.name} data-metric={metric.name}>
                <dt>{metric.term}</dt>
                <dd class="card-value">{metric.value}</dd>
                <dd class="hint">{metric.explanation}</dd>
              </div>
            ))}
        </dl>
      </section>
      <div class="chart-grid">
        <section class="panel" aria-labelledby="calibration-title">
          <h2 id="calibration-title">Predicted against actual churn</h2>
          {card.calibration.length > 0 ? (
            <CalibrationPlot bins={card.calibration} />
          ) : (
            <p class="empty">No calibration was recorded for this model.</p>
          )}
        </section>
        <section class="panel" aria-labelledby="importance-title">
          <h2 id="importance-title">What drives its scores</h2>
          <ImportanceChart importance={card.importance} />
          <p class="hint">Share of how much each column moves the scores across customers.</p>
        </section>
      </div>
      <TierTable card={card} />
      <TrainingDetails card={card} />
    </>
  );
}

function TierTable({ card }: { card: ModelCard }) {
  return (
    <section class="panel" aria-labelledby="tiers-title">
      <h2 id="tiers-title">Risk tiers</h2>
      <p class="hint">
        Lift: how many times the average churn rate ({formatPercent(card.baseRate)}) a tier's
        customers churn. Precision and recall count the tier with the riskier ones: of the customers
        flagged, how many churned, and of all who churned, how many were flagged.
      </p>
      <div class="table-scroll">
        <table class="tiers stack-on-phone">
          <caption class="visually-hidden">Risk tiers, measured out-of-fold</caption>
          <thead>
            <tr>
              <th scope="col">Tier</th>
              <th scope="col" class="number">
                From probability
              </th>
              <th scope="col" class="number">
                Customers
              </th>
              <th scope="col" class="number">
                Churned
              </th>
              <th scope="col" class="number">
                Lift
              </th>
              <th scope="col" class="number">
                Precision
              </th>
              <th scope="col" class="number">
                Recall
              </th>
            </tr>
          </thead>
          <tbody>
            {card.tiers.map((tier) => (
              <tr key={tier.tier} data-tier={tier.tier}>
                <th scope="row" data-label="Tier">
                  <span class={`tier tier-${tier.tier}`}>{tier.tier}</span>
                </th>
                <td data-label="From probability" class="number">
                  {formatPercent(tier.from, 0)}
                </td>
                <td data-label="Customers" class="number">
                  {formatPercent(tier.share)}
                </td>
                <td data-label="Churned" class="number">
                  {formatPercent(tier.churnRate)}
                </td>
                <td data-label="Lift" class="number">
                  {tier.liftOverBaseRate.toFixed(1)}×
                </td>
                <td data-label="Precision" class="number">
                  {formatPercent(tier.precision)}
                </td>
                <td data-label="Recall" class="number">
                  {formatPercent(tier.recall)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function TrainingDetails({ card }: { card: ModelCard }) {
  return (
    <section class="panel" aria-labelledby="made-title">
      <h2 id="made-title">How it was trained</h2>
      <dl class="facts">
        <dt>Label</dt>
        <dd>
          <q>{card.label.column}</q>, churned when it is {card.label.churnedValues.join(' or ')}
          {card.unlabelledRows > 0 &&
            `; ${formatCount(card.unlabelledRows)} rows without a value were left out`}
        </dd>
        <dt>Training file</dt>
        <dd>
          {formatCount(card.fingerprint.rows)} rows, {card.fingerprint.columns} columns, SHA-256{' '}
          <code title={card.fingerprint.sha256}>{card.fingerprint.sha256.slice(0, 12)}</code>
        </dd>
        {card.asOf && (
          <>
            <dt>Dates counted back from</dt>
            <dd>{new Date(card.asOf).toLocaleDateString(undefined, { dateStyle: 'medium' })}</dd>
          </>
        )}
        <dt>Columns it reads</dt>
        <dd>{card.inputs.map((input) => `${input.column} (${input.reads})`).join(', ')}</dd>
        {card.skippedColumns.length > 0 && (
          <>
            <dt>Columns left out</dt>
            <dd>
              <ul class="plain-list">
                {card.skippedColumns.map((skipped) => (
                  <li key={skipped.column}>
                    {skipped.column}: {skipped.reason}
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
        {card.engineered.length > 0 && (
          <>
            <dt>Curves kept</dt>
            <dd>
              {card.engineered.join(', ')}{' '}
              <span class="hint">(transforms that made its predictions better)</span>
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}
