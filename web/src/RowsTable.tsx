import { useEffect, useState } from 'preact/hooks';
import {
  ApiFailure,
  api,
  type CustomerChange,
  downloadView,
  type RowsPage,
  type RowsQuery,
  type ScoredRow,
  unwrap,
} from './api';
import { DownloadButton } from './DownloadButton';
import { formatCount, formatMoney, formatPercent } from './format';
import { customerPath, onLinkClick } from './router';
import { TIERS, type Tier } from './summary';
import { CHANGE_WORDS, Trend } from './Trend';

const PAGE_SIZE = 50;
/** Typing pauses this long before the search is sent, so each keystroke is not a request. */
const SEARCH_DELAY_MS = 250;
/** Columns of the table besides the user's own. */
const FIXED_COLUMNS = 6;
/** As many of their own columns as a user may show (the API's limit). */
const MAX_SHOWN = 8;

type Sort = NonNullable<RowsQuery['sort']>;

/** Marked when the first page of customers is on screen (read by the browser tests). */
export const ROWS_PAINTED_MARK = 'churnline:rows-painted';

/**
 * The scored customers, a page at a time from the server (filtering, sorting and paging all happen
 * there, so a million rows cost the browser one page), with any of the user's own columns beside
 * the scores (chosen once, saved in their settings, shown for every file that has them).
 */
export function RowsTable(props: {
  predictionId: string;
  /** The file's revenue column, when it has one: the worklist order and each row's loss. */
  revenue: { currency: string | null } | null;
  /** Whether its customers were compared with a previous prediction (the trend column). */
  compared: boolean;
  /** The change filter, kept by the page so that its changes panel can set it. */
  change: CustomerChange | '';
  onChangeFilter(change: CustomerChange | ''): void;
  modelId: string;
}) {
  const { revenue, compared, change } = props;
  const [tier, setTier] = useState<Tier | ''>('');
  const [search, setSearch] = useState('');
  const [prefix, setPrefix] = useState('');
  const [sort, setSort] = useState<Sort>('probability_desc');
  // For the column orders: which of the user's columns.
  const [sortColumn, setSortColumn] = useState('');
  // Matching rows before this page.
  const [offset, setOffset] = useState(0);
  // The page on screen, with the offset it was asked for (which `offset` runs ahead of).
  const [page, setPage] = useState<(RowsPage & { offset: number }) | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<Set<number>>(new Set());
  const [shown, setShown] = useState<string[]>([]);

  useEffect(() => {
    // Without the settings the table still works, with no columns of the user's.
    unwrap(api.GET('/v1/settings')).then(
      (settings) => setShown(settings.tableColumns),
      () => {},
    );
  }, []);

  // A new filter or order starts again from the first page (set together: one request).
  const restart = () => setOffset(0);
  useEffect(() => {
    const next = search.trim();
    if (next === prefix) return;
    const timer = setTimeout(() => {
      setPrefix(next);
      restart();
    }, SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [search, prefix]);

  useEffect(() => {
    const abort = new AbortController();
    setLoading(true);
    const query: RowsQuery = { sort, limit: PAGE_SIZE };
    if (isColumnSort(sort)) query.sortColumn = sortColumn;
    if (tier) query.tier = tier;
    if (change) query.change = change;
    if (prefix) query.customerId = prefix;
    if (offset > 0) query.offset = offset;
    unwrap(
      api.GET('/v1/predictions/{id}/rows', {
        params: { path: { id: props.predictionId }, query },
        signal: abort.signal,
      }),
    ).then(
      (result) => {
        setPage({ ...result, offset });
        setError(null);
        setOpen(new Set());
        setLoading(false);
      },
      (failure: unknown) => {
        if (abort.signal.aborted) return;
        setError(failure instanceof ApiFailure ? failure.message : String(failure));
        setLoading(false);
      },
    );
    return () => abort.abort();
  }, [props.predictionId, tier, change, prefix, sort, sortColumn, offset]);
  // A change chosen from the changes panel starts from the first page too.
  useEffect(() => setOffset(0), [change]);

  const painted = page !== null;
  useEffect(() => {
    if (!painted) return;
    requestAnimationFrame(() => setTimeout(() => performance.mark(ROWS_PAINTED_MARK), 0));
  }, [painted]);

  const first = page?.offset ?? 0;
  const pages = page ? Math.max(1, Math.ceil(page.total / PAGE_SIZE)) : 1;
  const fileColumns = page?.rows[0] ? Object.keys(page.rows[0].values) : [];
  const extra = shown.filter((column) => fileColumns.includes(column));
  const [columnsProblem, setColumnsProblem] = useState<string | null>(null);
  const choose = (column: string, on: boolean) => {
    const next = on ? [...shown, column] : shown.filter((c) => c !== column);
    const before = shown;
    setShown(next);
    unwrap(api.PUT('/v1/settings', { body: { tableColumns: next } })).then(
      () => setColumnsProblem(null),
      (failure: unknown) => {
        setShown(before);
        setColumnsProblem(failure instanceof ApiFailure ? failure.message : String(failure));
      },
    );
  };
  const [filtersOpen, setFiltersOpen] = useState(false);
  const toggle = (row: number) =>
    setOpen((shown) => {
      const next = new Set(shown);
      if (!next.delete(row)) next.add(row);
      return next;
    });

  return (
    <section class="panel" aria-labelledby="customers-title">
      <h2 id="customers-title">Customers</h2>
      <button
        type="button"
        class="secondary filters-toggle"
        aria-expanded={filtersOpen}
        aria-controls="customer-filters"
        onClick={() => setFiltersOpen((shown) => !shown)}
      >
        {filtersOpen
          ? 'Hide filters'
          : `Filter and order: ${describeFilters(tier, change, prefix, sort, sortColumn)}`}
      </button>
      <div id="customer-filters" class={`filters${filtersOpen ? ' open' : ''}`}>
        <div class="field">
          <label for="tier-filter">Risk tier</label>
          <select
            id="tier-filter"
            value={tier}
            onChange={(event) => {
              setTier(event.currentTarget.value as Tier | '');
              restart();
            }}
          >
            <option value="">All tiers</option>
            {TIERS.map((t) => (
              <option key={t} value={t}>
                {t[0]?.toUpperCase()}
                {t.slice(1)} risk
              </option>
            ))}
          </select>
        </div>
        {compared && (
          <div class="field">
            <label for="change-filter">Since the previous prediction</label>
            <select
              id="change-filter"
              value={change}
              onChange={(event) =>
                props.onChangeFilter(event.currentTarget.value as CustomerChange | '')
              }
            >
              <option value="">Any change</option>
              {(Object.keys(CHANGE_WORDS) as CustomerChange[]).map((c) => (
                <option key={c} value={c}>
                  {CHANGE_WORDS[c]}
                </option>
              ))}
            </select>
          </div>
        )}
        <div class="field">
          <label for="customer-search">Customer id starts with</label>
          <input
            id="customer-search"
            type="search"
            autoComplete="off"
            spellcheck={false}
            value={search}
            onInput={(event) => setSearch(event.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="sort-order">Order</label>
          <select
            id="sort-order"
            value={isColumnSort(sort) ? `${sort}:${sortColumn}` : sort}
            onChange={(event) => {
              const [chosen, ...column] = event.currentTarget.value.split(':');
              setSort(chosen as Sort);
              setSortColumn(column.join(':'));
              restart();
            }}
          >
            <option value="probability_desc">Highest risk first</option>
            {revenue && <option value="expected_loss_desc">Most revenue at risk first</option>}
            <option value="probability_asc">Lowest risk first</option>
            <option value="row">File order</option>
            {extra.flatMap((column) => [
              <option key={`d${column}`} value={`column_desc:${column}`}>
                {column}: largest first
              </option>,
              <option key={`a${column}`} value={`column_asc:${column}`}>
                {column}: smallest first
              </option>,
            ])}
          </select>
        </div>
      </div>
      {fileColumns.length > 0 && (
        <details class="column-picker">
          <summary>
            Your columns in the table{extra.length > 0 ? `: ${extra.join(', ')}` : ''}
          </summary>
          <fieldset>
            <legend>
              Show beside the scores (up to {MAX_SHOWN}; kept for every file that has them)
            </legend>
            {fileColumns.map((column) => {
              const on = shown.includes(column);
              return (
                <label key={column} class="check">
                  <input
                    type="checkbox"
                    checked={on}
                    disabled={!on && shown.length >= MAX_SHOWN}
                    onChange={(event) => choose(column, event.currentTarget.checked)}
                  />
                  {column}
                </label>
              );
            })}
          </fieldset>
          {columnsProblem && (
            <p class="error" role="alert">
              {columnsProblem}
            </p>
          )}
        </details>
      )}
      <DownloadButton
        wrapperClass="export-view"
        class="secondary"
        label={`Export this view (${formatCount(page?.total ?? 0)} customers, CSV)`}
        busyLabel="Preparing the export..."
        disabled={!page || page.total === 0}
        download={() =>
          downloadView(props.predictionId, {
            sort,
            ...(tier ? { tier } : {}),
            ...(change ? { change } : {}),
            ...(prefix ? { customerId: prefix } : {}),
            ...(isColumnSort(sort) ? { sortColumn } : {}),
          })
        }
      />
      <p class="rows-status" role="status" aria-busy={loading}>
        {loading
          ? 'Loading customers...'
          : page && page.total > 0
            ? `Customers ${formatCount(first + 1)}-${formatCount(first + page.rows.length)} of ${formatCount(page.total)}${pages > 1 ? `, page ${formatCount(Math.floor(first / PAGE_SIZE) + 1)} of ${formatCount(pages)}` : ''}`
            : ''}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {page && page.total === 0 && !loading && !error && (
        <p class="empty">
          No customers match{prefix ? ` "${prefix}"` : ''}
          {tier ? ` in the ${tier} tier` : ''}
          {change ? ` among the ${CHANGE_WORDS[change].toLowerCase()}` : ''}.
        </p>
      )}
      {page && page.rows.length > 0 && (
        <div class="table-scroll">
          <table class="rows" aria-describedby="customers-title">
            <thead>
              <tr>
                <th scope="col">Customer</th>
                <th scope="col" class="number" aria-sort={ariaSort(sort)}>
                  Churn probability
                </th>
                <th scope="col" class="tier-column">
                  Risk tier
                </th>
                {compared && (
                  <th scope="col" class="hide-on-phone">
                    Since previous
                  </th>
                )}
                {revenue && (
                  <th
                    scope="col"
                    class="number hide-on-phone"
                    aria-sort={sort === 'expected_loss_desc' ? 'descending' : 'none'}
                  >
                    Expected monthly loss
                  </th>
                )}
                {extra.map((column) => (
                  <th
                    key={column}
                    scope="col"
                    class="hide-on-phone own-column"
                    aria-sort={
                      isColumnSort(sort) && sortColumn === column
                        ? sort === 'column_desc'
                          ? 'descending'
                          : 'ascending'
                        : undefined
                    }
                  >
                    {column}
                  </th>
                ))}
                <th scope="col" class="hide-on-phone">
                  Recommended action
                </th>
                <th scope="col" class="hide-on-phone">
                  Top reason
                </th>
                <th scope="col">
                  <span class="visually-hidden">Reasons</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page.rows.map((row) => (
                <CustomerRow
                  key={row.row}
                  row={row}
                  revenue={revenue}
                  compared={compared}
                  modelId={props.modelId}
                  extra={extra}
                  open={open.has(row.row)}
                  onToggle={toggle}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Customer pages">
        <button
          type="button"
          class="secondary"
          disabled={offset === 0 || loading}
          onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}
        >
          Previous page
        </button>
        {page && page.total > PAGE_SIZE && (
          <PageJump
            page={Math.floor(offset / PAGE_SIZE) + 1}
            pages={pages}
            onGo={(n) => setOffset((n - 1) * PAGE_SIZE)}
          />
        )}
        <button
          type="button"
          class="secondary"
          disabled={!page?.nextCursor || loading}
          onClick={() => setOffset(offset + PAGE_SIZE)}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}

/** "Page [ 3 ] of 141 [Go]": straight to any page. */
function PageJump(props: { page: number; pages: number; onGo(page: number): void }) {
  const [value, setValue] = useState(String(props.page));
  useEffect(() => setValue(String(props.page)), [props.page]);
  const go = (event: Event) => {
    event.preventDefault();
    const n = Math.round(Number(value));
    if (!Number.isFinite(n) || n < 1 || n > props.pages) {
      setValue(String(props.page));
      return;
    }
    props.onGo(n);
  };
  return (
    <form class="page-jump" onSubmit={go}>
      <label for="page-number">Page</label>
      <input
        id="page-number"
        type="number"
        inputMode="numeric"
        min={1}
        max={props.pages}
        value={value}
        onInput={(event) => setValue(event.currentTarget.value)}
      />
      <span>of {formatCount(props.pages)}</span>
      <button type="submit" class="secondary" aria-label="Go to page">
        Go
      </button>
    </form>
  );
}

function CustomerRow(props: {
  row: ScoredRow;
  revenue: { currency: string | null } | null;
  compared: boolean;
  modelId: string;
  extra: string[];
  open: boolean;
  onToggle(row: number): void;
}) {
  const { row } = props;
  const name = row.customerId ?? `row ${row.row}`;
  const loss =
    row.expectedMonthlyLoss === null || !props.revenue
      ? '-'
      : formatMoney(row.expectedMonthlyLoss, props.revenue.currency);
  const detailsId = `reasons-${row.row}`;
  return (
    <>
      <tr data-row={row.row}>
        <th scope="row" class="customer-id">
          {row.customerId === null ? (
            name
          ) : (
            <a href={customerPath(row.customerId, props.modelId)} onClick={onLinkClick}>
              {name}
            </a>
          )}
        </th>
        <td class="number">
          {row.churnProbability === null ? '-' : formatPercent(row.churnProbability)}
          {row.riskTier && (
            <span class={`tier tier-${row.riskTier} tier-on-phone`}>{row.riskTier}</span>
          )}
          {props.compared && (
            <span class="trend-on-phone">
              <Trend
                change={row.change}
                previous={row.previousProbability}
                now={row.churnProbability}
              />
            </span>
          )}
        </td>
        <td class="tier-column">
          {row.riskTier ? (
            <span class={`tier tier-${row.riskTier}`}>{row.riskTier}</span>
          ) : (
            <span class="error-text">not scored</span>
          )}
        </td>
        {props.compared && (
          <td class="hide-on-phone">
            <Trend
              change={row.change}
              previous={row.previousProbability}
              now={row.churnProbability}
            />
          </td>
        )}
        {props.revenue && <td class="number hide-on-phone">{loss}</td>}
        {props.extra.map((column) => (
          <td key={column} class="hide-on-phone own-column">
            {row.values[column] ?? ''}
          </td>
        ))}
        <td class="hide-on-phone action-cell">{row.recommendedAction ?? ''}</td>
        <td class="hide-on-phone">{row.topReasons[0] ?? row.error ?? ''}</td>
        <td>
          <button
            type="button"
            class="link-button"
            aria-expanded={props.open}
            aria-controls={detailsId}
            onClick={() => props.onToggle(row.row)}
          >
            {props.open ? 'Hide reasons' : 'Reasons'}
            <span class="visually-hidden"> for {name}</span>
          </button>
        </td>
      </tr>
      <tr id={detailsId} class="details" hidden={!props.open}>
        <td
          colSpan={
            FIXED_COLUMNS + (props.revenue ? 1 : 0) + (props.compared ? 1 : 0) + props.extra.length
          }
        >
          {(props.extra.length > 0 || props.revenue) && (
            <dl class="own-values">
              {props.revenue && (
                <div>
                  <dt>Expected monthly loss</dt>
                  <dd>{loss}</dd>
                </div>
              )}
              {props.extra.map((column) => (
                <div key={column}>
                  <dt>{column}</dt>
                  <dd>{row.values[column] ?? ''}</dd>
                </div>
              ))}
            </dl>
          )}
          {row.error && <p class="error-text">This row could not be scored: {row.error}</p>}
          {row.recommendedAction && (
            <p class="next-step">
              <strong>What to do:</strong> {row.recommendedAction}
            </p>
          )}
          {row.topReasons.length > 0 ? (
            <>
              <p class="hint">
                Why {name} is at this risk (strongest first), row {row.row} of the file:
              </p>
              <ul class="row-reasons">
                {row.topReasons.map((reason) => (
                  <li key={reason}>{reason}</li>
                ))}
              </ul>
            </>
          ) : (
            !row.error && <p class="hint">No reasons recorded for this customer.</p>
          )}
        </td>
      </tr>
    </>
  );
}

const ORDER_WORDS: Record<Sort, string> = {
  probability_desc: 'highest risk first',
  expected_loss_desc: 'most revenue at risk first',
  probability_asc: 'lowest risk first',
  column_desc: 'largest first',
  column_asc: 'smallest first',
  row: 'file order',
};

/** "all tiers, highest risk first" (the folded filters' button on a phone). */
function describeFilters(
  tier: Tier | '',
  change: CustomerChange | '',
  prefix: string,
  sort: Sort,
  sortColumn: string,
): string {
  const who = tier ? `${tier} risk` : 'all tiers';
  const moved = change ? `, ${CHANGE_WORDS[change].toLowerCase()}` : '';
  const order = isColumnSort(sort) ? `${sortColumn} ${ORDER_WORDS[sort]}` : ORDER_WORDS[sort];
  return `${who}${moved}${prefix ? `, ids starting "${prefix}"` : ''}, ${order}`;
}

function isColumnSort(sort: Sort): sort is 'column_desc' | 'column_asc' {
  return sort === 'column_desc' || sort === 'column_asc';
}

function ariaSort(sort: Sort): 'ascending' | 'descending' | 'none' {
  if (sort === 'probability_desc') return 'descending';
  if (sort === 'probability_asc') return 'ascending';
  return 'none';
}
