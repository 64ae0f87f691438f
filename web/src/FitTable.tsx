import type { FitReport, InputFit } from './api';
import { formatPercent } from './format';
import { matchedByText } from './models';

/**
 * The model's inputs, most important first: the column feeding each (a select to change it), how
 * it was found, and how its values read in the rows checked.
 */
export function FitTable(props: {
  report: FitReport;
  columns: string[];
  busy: boolean;
  /** A column chosen for an input; '' gives the choice back to automatic matching. */
  onChoose(input: string, column: string): void;
}) {
  const { report } = props;
  const inputs = [...report.inputs].sort((a, b) => b.importance - a.importance);
  const largest = Math.max(...inputs.map((fit) => fit.importance), 0.0001);
  return (
    <div class="table-scroll">
      <table class="fit stack-on-phone">
        <caption class="visually-hidden">
          The model's inputs, most important first, and the columns of your file that feed them
        </caption>
        <thead>
          <tr>
            <th scope="col">Model input</th>
            <th scope="col" class="number">
              Importance
            </th>
            <th scope="col">Your column</th>
            <th scope="col">Found by</th>
            <th scope="col" class="number">
              Readable
            </th>
            <th scope="col" class="number">
              Blank
            </th>
            <th scope="col">Unreadable values</th>
          </tr>
        </thead>
        <tbody>
          {inputs.map((fit) => (
            <FitRow
              key={fit.input}
              fit={fit}
              rowsChecked={report.rowsChecked}
              columns={props.columns}
              largest={largest}
              busy={props.busy}
              onChoose={props.onChoose}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function FitRow(props: {
  fit: InputFit;
  rowsChecked: number;
  columns: string[];
  largest: number;
  busy: boolean;
  onChoose(input: string, column: string): void;
}) {
  const { fit, rowsChecked } = props;
  const selectId = `column-for-${fit.input.replace(/[^\w-]/g, '_')}`;
  const readable = fit.column === null || fit.present === 0 ? null : fit.parsed / fit.present;
  const blank = fit.column === null || rowsChecked === 0 ? null : 1 - fit.present / rowsChecked;
  const nearest = fit.column === null ? fit.closest[0] : undefined;
  const state =
    fit.column === null ? 'missing' : readable !== null && readable < 0.98 ? 'warn' : 'ok';
  return (
    <tr data-input={fit.input} class={`fit-${state}`}>
      <th scope="row" data-label="Model input">
        <span class="input-name">{fit.input}</span>
        <span class="hint"> {fit.reads}</span>
      </th>
      <td data-label="Importance" class="number">
        {formatPercent(fit.importance)}
        <span class="importance-bar" aria-hidden="true">
          <span style={{ width: `${(fit.importance / props.largest) * 100}%` }} />
        </span>
      </td>
      <td data-label="Your column">
        <label for={selectId} class="visually-hidden">
          Column for {fit.input}
        </label>
        <select
          id={selectId}
          value={fit.column ?? ''}
          onChange={(event) => props.onChoose(fit.input, event.currentTarget.value)}
        >
          <option value="">
            {fit.matchedBy === 'override'
              ? 'Automatic (undo my choice)'
              : fit.column === null
                ? 'No column'
                : 'Automatic'}
          </option>
          {props.columns.map((column) => (
            <option key={column} value={column}>
              {column}
            </option>
          ))}
        </select>
      </td>
      <td data-label="Found by">
        {fit.column === null ? (
          <span class="error-text">not found</span>
        ) : (
          matchedByText(fit.matchedBy)
        )}
        {nearest !== undefined && (
          <span class="near-miss">
            {' '}
            Nearest: <q>{nearest}</q>{' '}
            <button
              type="button"
              class="link-button"
              disabled={props.busy}
              onClick={() => {
                props.onChoose(fit.input, nearest);
                // This button goes once the choice is saved: keep the keyboard in the row.
                document.getElementById(selectId)?.focus();
              }}
            >
              Use it<span class="visually-hidden"> for {fit.input}</span>
            </button>
          </span>
        )}
      </td>
      <td data-label="Readable" class="number">
        {readable === null ? '-' : formatPercent(readable)}
      </td>
      <td data-label="Blank" class="number">
        {blank === null ? '-' : formatPercent(blank)}
      </td>
      <td data-label="Unreadable values">
        {fit.examples.length > 0 ? (
          <span class="examples">
            {fit.examples.map((example, i) => (
              <code key={i}>{example === '' ? '(blank)' : example}</code>
            ))}
          </span>
        ) : fit.column === null ? (
          '-'
        ) : (
          'none'
        )}
        {fit.unknownCategories > 0 && (
          <span class="hint"> ({fit.unknownCategories} in categories the model never saw)</span>
        )}
      </td>
    </tr>
  );
}
