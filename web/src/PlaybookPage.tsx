import { useEffect, useRef, useState } from 'preact/hooks';
import { type ApiFailure, api, asFailure, type Playbook, unwrap } from './api';

interface RuleDraft {
  /** Stable across edits, so inputs keep their focus while rules are added and removed. */
  key: number;
  column: string;
  values: string;
  action: string;
}

let nextKey = 0;

function draftsOf(playbook: Playbook): RuleDraft[] {
  return playbook.rules.map((rule) => ({
    key: nextKey++,
    column: rule.column,
    values: (rule.values ?? []).join(', '),
    action: rule.action,
  }));
}

function playbookOf(rules: RuleDraft[], tiers: Playbook['tiers']): Playbook {
  return {
    rules: rules.map((rule) => {
      const values = rule.values
        .split(',')
        .map((value) => value.trim())
        .filter((value) => value !== '');
      return {
        column: rule.column.trim(),
        ...(values.length > 0 ? { values } : {}),
        action: rule.action.trim(),
      };
    }),
    tiers: { high: tiers.high.trim(), medium: tiers.medium.trim(), low: tiers.low.trim() },
  };
}

const TIER_NAMES = { high: 'High risk', medium: 'Medium risk', low: 'Low risk' } as const;

/**
 * The team's playbook: for a kind of column (and, optionally, some of its values) among the
 * reasons raising a customer's risk, what to do; and what to do by tier when no rule fits.
 * Predictions made afterwards recommend from it.
 */
export function PlaybookPage() {
  const heading = useRef<HTMLHeadingElement>(null);
  const [rules, setRules] = useState<RuleDraft[] | null>(null);
  const [tiers, setTiers] = useState<Playbook['tiers']>({ high: '', medium: '', low: '' });
  const [isDefault, setIsDefault] = useState(true);
  const [state, setState] = useState<'idle' | 'saving' | 'saved' | 'reset'>('idle');
  const [problem, setProblem] = useState<ApiFailure | null>(null);

  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    document.title = 'Playbook - Churnline';
  }, []);

  const show = (view: { playbook: Playbook; isDefault: boolean }) => {
    setRules(draftsOf(view.playbook));
    setTiers(view.playbook.tiers);
    setIsDefault(view.isDefault);
  };
  useEffect(() => {
    unwrap(api.GET('/v1/playbook')).then(show, (failure: unknown) =>
      setProblem(asFailure(failure)),
    );
  }, []);

  const edit = (key: number, change: Partial<RuleDraft>) => {
    setState('idle');
    setRules(
      (list) => list?.map((rule) => (rule.key === key ? { ...rule, ...change } : rule)) ?? null,
    );
  };

  const save = async (event: Event) => {
    event.preventDefault();
    if (!rules) return;
    setState('saving');
    setProblem(null);
    try {
      show(await unwrap(api.PUT('/v1/playbook', { body: playbookOf(rules, tiers) })));
      setState('saved');
    } catch (failure) {
      setProblem(asFailure(failure));
      setState('idle');
    }
  };

  const reset = async () => {
    if (!window.confirm('Replace your playbook with the one Churnline ships?')) return;
    setProblem(null);
    try {
      show(await unwrap(api.DELETE('/v1/playbook')));
      setState('reset');
    } catch (failure) {
      setProblem(asFailure(failure));
    }
  };

  return (
    <>
      <h1 tabIndex={-1} ref={heading}>
        Playbook
      </h1>
      <p class="hint">
        Every scored customer gets a recommended action: the rule for the strongest reason raising
        their risk that a rule covers, else their tier's action. A rule names words the column's
        name contains ("payment fail" fits "Payment Failures (12m)") and, optionally, the values it
        is about. Predictions made from now on use this playbook; earlier ones keep theirs.
      </p>
      {problem && (
        <p class="error" role="alert">
          {problem.message}
        </p>
      )}
      {!rules && !problem && <p class="loading">Loading your playbook...</p>}
      {rules && (
        <form class="panel playbook" onSubmit={save} noValidate>
          <p class="status-line" role="status">
            {state === 'saved'
              ? 'Saved. New predictions recommend from it.'
              : state === 'reset'
                ? 'Back to the playbook Churnline ships.'
                : isDefault
                  ? 'This is the playbook Churnline ships; edit it to make it yours.'
                  : 'Your own playbook.'}
          </p>
          <h2>When a reason is...</h2>
          <ol class="rules">
            {rules.map((rule, i) => (
              <li key={rule.key} class="rule">
                <div class="field">
                  <label for={`rule-column-${rule.key}`}>Column name contains</label>
                  <input
                    id={`rule-column-${rule.key}`}
                    value={rule.column}
                    maxLength={60}
                    onInput={(event) => edit(rule.key, { column: event.currentTarget.value })}
                  />
                </div>
                <div class="field">
                  <label for={`rule-values-${rule.key}`}>Only these values (optional)</label>
                  <input
                    id={`rule-values-${rule.key}`}
                    value={rule.values}
                    placeholder="any value"
                    onInput={(event) => edit(rule.key, { values: event.currentTarget.value })}
                  />
                </div>
                <div class="field rule-action">
                  <label for={`rule-action-${rule.key}`}>Then</label>
                  <input
                    id={`rule-action-${rule.key}`}
                    value={rule.action}
                    maxLength={200}
                    onInput={(event) => edit(rule.key, { action: event.currentTarget.value })}
                  />
                </div>
                <button
                  type="button"
                  class="link-button"
                  onClick={() => {
                    setState('idle');
                    setRules((list) => list?.filter((r) => r.key !== rule.key) ?? null);
                  }}
                >
                  Remove<span class="visually-hidden"> rule {i + 1}</span>
                </button>
              </li>
            ))}
          </ol>
          <button
            type="button"
            class="secondary"
            onClick={() =>
              setRules((list) => [
                ...(list ?? []),
                { key: nextKey++, column: '', values: '', action: '' },
              ])
            }
          >
            Add a rule
          </button>
          <h2>Otherwise, by risk tier</h2>
          {(['high', 'medium', 'low'] as const).map((tier) => (
            <div class="field" key={tier}>
              <label for={`tier-${tier}`}>{TIER_NAMES[tier]}</label>
              <input
                id={`tier-${tier}`}
                value={tiers[tier]}
                maxLength={200}
                onInput={(event) => {
                  setState('idle');
                  setTiers({ ...tiers, [tier]: event.currentTarget.value });
                }}
              />
            </div>
          ))}
          <div class="button-row">
            <button type="submit" disabled={state === 'saving'}>
              {state === 'saving' ? 'Saving...' : 'Save playbook'}
            </button>
            {!isDefault && (
              <button type="button" class="secondary" onClick={reset}>
                Use the shipped playbook
              </button>
            )}
          </div>
        </form>
      )}
    </>
  );
}
