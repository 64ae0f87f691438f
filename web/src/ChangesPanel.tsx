import { useEffect, useState } from 'preact/hooks';
import { api, asFailure, type Changes, type CustomerChange, type ScoredRow, unwrap } from './api';
import { formatCount, formatPercent, formatTime } from './format';
import { customerPath, onLinkClick } from './router';
import { CHANGE_WORDS, Trend } from './Trend';

/** Customers shown per list; the table shows the rest. */
const SHOWN = 5;

/** The lists in the order a manager works them, and the change each filters the table by. */
const LISTS: Array<{
  key: 'newlyHighRisk' | 'worsened' | 'improved' | 'new';
  change: CustomerChange;
  hint: string;
}> = [
  {
    key: 'newlyHighRisk',
    change: 'newly_high_risk',
    hint: 'High risk now, and not before: call first.',
  },
  { key: 'worsened', change: 'worsened', hint: 'Moved to a worse tier, short of high.' },
  { key: 'improved', change: 'improved', hint: 'Moved to a better tier: what worked?' },
  { key: 'new', change: 'new', hint: 'Not in the previous file.' },
];

/**
 * Who changed since the previous prediction with the same model: counts and the riskiest few of
 * each kind, each a link to the customer's page; "Show all" filters the table below.
 */
export function ChangesPanel(props: {
  predictionId: string;
  modelId: string;
  onShowAll(change: CustomerChange): void;
}) {
  const [changes, setChanges] = useState<Changes | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    unwrap(
      api.GET('/v1/predictions/{id}/changes', {
        params: { path: { id: props.predictionId }, query: { limit: SHOWN } },
      }),
    ).then(setChanges, (failure: unknown) => setProblem(asFailure(failure).message));
  }, [props.predictionId]);

  if (problem) {
    return (
      <section class="panel" aria-labelledby="changes-title">
        <h2 id="changes-title">Changes since the previous prediction</h2>
        <p class="error" role="alert">
          {problem}
        </p>
      </section>
    );
  }
  if (!changes) return null;
  if (!changes.counts || !changes.previous) {
    return (
      <section class="panel" aria-labelledby="changes-title">
        <h2 id="changes-title">Changes since the previous prediction</h2>
        <p class="empty">
          {changes.counts
            ? 'The prediction these customers were compared with has been deleted since.'
            : 'Nothing to compare with yet: this is the first prediction with this model, or its file has no customer id column. The next prediction with this model will show who is newly at risk, who improved and who is new.'}
        </p>
      </section>
    );
  }
  const { counts, previous } = changes;
  return (
    <section class="panel changes" aria-labelledby="changes-title">
      <h2 id="changes-title">Changes since the previous prediction</h2>
      <p class="hint">
        Compared with{' '}
        <a href={`/predictions/${previous.predictionId}`} onClick={onLinkClick}>
          {previous.filename || 'the previous file'}
        </a>{' '}
        ({formatTime(previous.completedAt)}), customers matched by id.{' '}
        {formatCount(counts.unchanged)} stayed in their tier.
      </p>
      <div class="change-lists">
        {LISTS.map(({ key, change, hint }) => (
          <div class={`change-list change-${change}`} key={key}>
            <h3>
              {CHANGE_WORDS[change]}: <span class="change-count">{formatCount(counts[key])}</span>
            </h3>
            <p class="hint">{hint}</p>
            {changes[key].length > 0 && (
              <ul>
                {changes[key].map((row) => (
                  <ChangedCustomer key={row.row} row={row} modelId={props.modelId} />
                ))}
              </ul>
            )}
            {counts[key] > 0 && (
              <button type="button" class="link-button" onClick={() => props.onShowAll(change)}>
                Show all {formatCount(counts[key])} in the table
              </button>
            )}
          </div>
        ))}
      </div>
    </section>
  );
}

function ChangedCustomer(props: { row: ScoredRow; modelId: string }) {
  const { row } = props;
  const name = row.customerId ?? `row ${row.row}`;
  return (
    <li>
      {row.customerId ? (
        <a href={customerPath(row.customerId, props.modelId)} onClick={onLinkClick}>
          {name}
        </a>
      ) : (
        name
      )}{' '}
      {row.churnProbability !== null && formatPercent(row.churnProbability)}{' '}
      <Trend change={row.change} previous={row.previousProbability} now={row.churnProbability} />
    </li>
  );
}
