import { useEffect, useRef, useState } from 'preact/hooks';
import {
  type ApiFailure,
  api,
  asFailure,
  type CustomerChange,
  downloadResults,
  type ModelCard,
  type Prediction,
  unwrap,
} from './api';
import { ChangesPanel } from './ChangesPanel';
import { CommonReasons, ProbabilityHistogram, TierChart, type TierCutoffs } from './charts';
import { DownloadButton } from './DownloadButton';
import { formatCount, formatMoney, formatMs, formatPercent, formatTime } from './format';
import { RowsTable } from './RowsTable';
import { onLinkClick } from './router';
import type { PredictionSummary } from './summary';

const POLL_MS = 1000;

/** Marked once the summary is on screen; the browser test reads it as first meaningful paint. */
export const RESULTS_PAINTED_MARK = 'churnline:results-painted';

export function PredictionPage(props: { id: string }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [prediction, setPrediction] = useState<Prediction | null>(null);
  const [filename, setFilename] = useState<string | null>(null);
  const [model, setModel] = useState<ScoringModel | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [change, setChange] = useState<CustomerChange | ''>('');

  useEffect(() => heading.current?.focus(), []);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const found = await unwrap(
          api.GET('/v1/predictions/{id}', { params: { path: { id: props.id } } }),
        );
        if (stopped) return;
        setPrediction(found);
        if (found.status === 'queued' || found.status === 'running')
          timer = setTimeout(read, POLL_MS);
      } catch (failure) {
        if (!stopped) setError(asFailure(failure));
      }
    };
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [props.id]);

  const uploadId = prediction?.uploadId;
  useEffect(() => {
    if (!uploadId) return;
    // Only the title needs it, so a failure leaves the generic title rather than an error.
    unwrap(api.GET('/v1/uploads/{id}', { params: { path: { id: uploadId } } })).then(
      (upload) => setFilename(upload.filename),
      () => {},
    );
  }, [uploadId]);

  const modelId = prediction?.modelId;
  useEffect(() => {
    if (!modelId) return;
    // Only a line names it: a model deleted since leaves the line out, not an error.
    unwrap(api.GET('/v1/models/{id}', { params: { path: { id: modelId } } })).then(
      (found) => setModel({ id: found.id, name: found.name, tiers: found.card?.tiers ?? null }),
      () => {},
    );
  }, [modelId]);

  useEffect(() => {
    document.title = `${filename ?? 'Prediction'} - Churnline`;
  }, [filename]);

  const summary = prediction?.status === 'completed' ? prediction.summary : null;
  useEffect(() => {
    if (!summary) return;
    // After the next frame is painted, not when it is merely scheduled.
    requestAnimationFrame(() => setTimeout(() => performance.mark(RESULTS_PAINTED_MARK), 0));
  }, [summary !== null]);

  return (
    <>
      <p class="breadcrumb">
        <a href="/" onClick={onLinkClick}>
          Predictions
        </a>
      </p>
      <h1 tabIndex={-1} ref={heading}>
        {filename ? `Results for ${filename}` : 'Prediction'}
      </h1>
      {error && (
        <p class="error" role="alert">
          {error.status === 404 ? 'There is no such prediction in your account.' : error.message}
        </p>
      )}
      {!prediction && !error && <p class="loading">Loading the prediction...</p>}
      {prediction && <StatusLine prediction={prediction} model={model} />}
      {prediction?.progress && (
        <Progress prediction={prediction} onCancelled={(cancelled) => setPrediction(cancelled)} />
      )}
      {summary && summary.missingInputs.length > 0 && (
        <p class="notice partial-fit">
          Scored with a partial fit: your file had no column for {summary.missingInputs.join(', ')},
          so each counted as an average customer's.
        </p>
      )}
      {prediction?.status === 'completed' && (
        <DownloadButton
          wrapperClass="actions"
          label="Download scored CSV"
          busyLabel="Preparing the download..."
          download={() => downloadResults(prediction.id)}
        />
      )}
      {prediction?.status === 'completed' && !summary && (
        <p class="error" role="alert">
          This prediction completed without a summary; its scored CSV may still be downloaded.
        </p>
      )}
      {prediction && summary && (
        <>
          <SummaryCards summary={summary} />
          <div class="chart-grid">
            <section class="panel" aria-labelledby="tiers-title">
              <h2 id="tiers-title">Risk distribution</h2>
              <TierChart tiers={summary.tiers} />
              {model?.tiers && <TierGuide tiers={model.tiers} />}
            </section>
            <section class="panel" aria-labelledby="histogram-title">
              <h2 id="histogram-title">Churn probability</h2>
              {summary.probabilityHistogram ? (
                <ProbabilityHistogram
                  counts={summary.probabilityHistogram}
                  {...(model?.tiers ? { cutoffs: cutoffsOf(model.tiers) } : {})}
                />
              ) : (
                <p class="empty">
                  This prediction was scored before histograms were recorded; score the file again
                  to see one.
                </p>
              )}
            </section>
          </div>
          <section class="panel" aria-labelledby="reasons-title">
            <h2 id="reasons-title">Most common reasons</h2>
            {summary.commonReasons.length > 0 ? (
              <CommonReasons reasons={summary.commonReasons} scored={summary.scored} />
            ) : (
              <p class="empty">No reasons were recorded.</p>
            )}
          </section>
          <ChangesPanel
            predictionId={prediction.id}
            modelId={prediction.modelId}
            onShowAll={(chosen) => {
              setChange(chosen);
              document.getElementById('customers-title')?.scrollIntoView();
            }}
          />
          <RowsTable
            predictionId={prediction.id}
            modelId={prediction.modelId}
            revenue={summary.revenue ? { currency: summary.revenue.currency } : null}
            compared={Boolean(summary.changes)}
            change={change}
            onChangeFilter={setChange}
          />
        </>
      )}
      {prediction && <AboutPrediction prediction={prediction} />}
    </>
  );
}

/** The model that scored a prediction, as far as this page uses it. */
interface ScoringModel {
  id: string;
  name: string;
  /** Its tiers as measured in validation; null while it is not ready. */
  tiers: ModelCard['tiers'] | null;
}

function cutoffsOf(tiers: ModelCard['tiers']): TierCutoffs {
  const from = (tier: 'high' | 'medium') => tiers.find((entry) => entry.tier === tier)?.from ?? 1;
  return { high: from('high'), medium: from('medium') };
}

/**
 * What makes a customer high, medium or low risk, in words and numbers: where each tier starts,
 * and how many such customers churned when the model was validated.
 */
function TierGuide(props: { tiers: ModelCard['tiers'] }) {
  const { high, medium } = cutoffsOf(props.tiers);
  const range: Record<string, string> = {
    high: `a churn probability of ${formatPercent(high, 0)} or more`,
    medium: `from ${formatPercent(medium, 0)} up to ${formatPercent(high, 0)}`,
    low: `below ${formatPercent(medium, 0)}`,
  };
  return (
    <dl class="tier-guide">
      {props.tiers.map((entry) => (
        <div key={entry.tier}>
          <dt class={`tier tier-${entry.tier} tier-name`}>{entry.tier}</dt>
          <dd>
            {range[entry.tier]}; in validation, {formatPercent(entry.churnRate, 0)} of these
            customers churned ({entry.liftOverBaseRate.toFixed(1)}x the average).
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** Facts an operator may want (ids, waits, attempts), out of the way of the results. */
function AboutPrediction({ prediction: p }: { prediction: Prediction }) {
  return (
    <details class="about">
      <summary>About this prediction</summary>
      <dl>
        <div>
          <dt>Prediction id</dt>
          <dd>
            <code>{p.id}</code>
          </dd>
        </div>
        <div>
          <dt>Waited in the queue</dt>
          <dd>{formatMs(p.timings.queuedMs)}</dd>
        </div>
        <div>
          <dt>Scoring took</dt>
          <dd>{formatMs(p.timings.runMs)}</dd>
        </div>
        <div>
          <dt>Attempts</dt>
          <dd>{p.attempts}</dd>
        </div>
      </dl>
    </details>
  );
}

/** How far a queued or running prediction is, its ETA, and a way to cancel it. */
function Progress(props: { prediction: Prediction; onCancelled: (p: Prediction) => void }) {
  const p = props.prediction;
  const progress = p.progress;
  const [cancelling, setCancelling] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  if (!progress) return null;
  const cancel = async () => {
    setCancelling(true);
    setFailure(null);
    try {
      props.onCancelled(
        await unwrap(api.POST('/v1/predictions/{id}/cancel', { params: { path: { id: p.id } } })),
      );
    } catch (error) {
      setFailure(asFailure(error).message);
    } finally {
      setCancelling(false);
    }
  };
  const { rowsScored, rowsTotal, percent, etaSeconds } = progress;
  return (
    <section class="panel progress-panel" aria-labelledby="progress-title">
      <h2 id="progress-title">{p.status === 'queued' ? 'Waiting for a worker' : 'Scoring'}</h2>
      {p.status === 'running' && (
        <>
          <progress
            max={rowsTotal ?? undefined}
            value={rowsTotal ? Math.min(rowsScored, rowsTotal) : undefined}
            aria-label="Rows scored"
          />
          <p class="progress-text">
            {rowsTotal
              ? `${formatCount(rowsScored)} of ${formatCount(rowsTotal)} rows scored (${percent ?? 0}%)`
              : `${formatCount(rowsScored)} rows scored`}
            {etaSeconds !== null && `, about ${formatDuration(etaSeconds)} left`}
          </p>
        </>
      )}
      {p.status === 'queued' && (
        <p class="progress-text">
          {rowsTotal ? `${formatCount(rowsTotal)} rows to score. ` : ''}It starts as soon as a
          worker is free.
        </p>
      )}
      <p class="actions">
        <button type="button" class="secondary" onClick={cancel} disabled={cancelling}>
          {cancelling ? 'Cancelling...' : 'Cancel prediction'}
        </button>
      </p>
      {failure && (
        <p class="error" role="alert">
          {failure}
        </p>
      )}
    </section>
  );
}

/** "40 s", "3 min", "1 h 20 min": an ETA needs no more precision. */
function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function StatusLine({
  prediction: p,
  model,
}: {
  prediction: Prediction;
  model: ScoringModel | null;
}) {
  return (
    <div class="status-line" role="status">
      <span class={`status status-${p.status}`}>{p.status}</span>
      <span>created {formatTime(p.createdAt)}</span>
      {model && (
        <span>
          model{' '}
          <a href={`/models/${encodeURIComponent(model.id)}`} onClick={onLinkClick}>
            {model.name}
          </a>
        </span>
      )}
      {p.error && <span class="error-text">{p.error.message}</span>}
    </div>
  );
}

function SummaryCards({ summary: s }: { summary: PredictionSummary }) {
  const share = (n: number) => formatPercent(s.scored ? n / s.scored : 0);
  return (
    <dl class="cards">
      <Card name="scored" term="Customers scored" value={formatCount(s.scored)}>
        {s.failed > 0 && `${formatCount(s.failed)} rows could not be scored`}
      </Card>
      <Card name="high" term="High risk" value={formatCount(s.tiers.high)} tier="high">
        {share(s.tiers.high)}
      </Card>
      <Card name="medium" term="Medium risk" value={formatCount(s.tiers.medium)} tier="medium">
        {share(s.tiers.medium)}
      </Card>
      <Card name="low" term="Low risk" value={formatCount(s.tiers.low)} tier="low">
        {share(s.tiers.low)}
      </Card>
      <Card name="mean" term="Mean churn probability" value={formatPercent(s.meanProbability)} />
      {s.revenue && (
        <Card
          name="revenue"
          term="Monthly revenue at risk"
          value={formatMoney(s.revenue.expectedMonthlyLoss, s.revenue.currency, true)}
          exact={formatMoney(s.revenue.expectedMonthlyLoss, s.revenue.currency)}
        >
          {`of ${formatMoney(s.revenue.monthlyTotal, s.revenue.currency, true)} a month (${s.revenue.column}); high risk: ${formatMoney(s.revenue.highRiskMonthly, s.revenue.currency, true)}`}
        </Card>
      )}
    </dl>
  );
}

function Card(props: {
  name: string;
  term: string;
  value: string;
  /** The value in full, when `value` is rounded to fit. */
  exact?: string;
  tier?: string;
  children?: string | false;
}) {
  return (
    <div class={`card${props.tier ? ` tier-${props.tier}` : ''}`} data-card={props.name}>
      <dt>{props.term}</dt>
      <dd class="card-value" title={props.exact}>
        {props.value}
        {props.exact && props.exact !== props.value && (
          <span class="visually-hidden"> (exactly {props.exact})</span>
        )}
      </dd>
      {props.children && <dd class="hint">{props.children}</dd>}
    </div>
  );
}
