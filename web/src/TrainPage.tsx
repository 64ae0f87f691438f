import { useEffect, useRef, useState } from 'preact/hooks';
import { type ApiFailure, api, asFailure, type FileColumn, type Upload, unwrap } from './api';
import { formatCount, formatTime } from './format';
import { guessLabelColumn } from './models';
import { navigate, onLinkClick } from './router';

/** A model name from a file name: "saas-customers.csv" -> "saas-customers". */
function nameFrom(filename: string): string {
  return filename.replace(/\.csv$/i, '').slice(0, 80) || 'My churn model';
}

/** The API names its own option; on this page the field is what to use. */
const forPage = (message: string) =>
  message.replace(
    / \(positiveValue in the API[^)]*\)/,
    ' (choose it under "Value that means churned")',
  );

/** "Active (1,234), Cancelled (240)". */
const describeValues = (column: FileColumn) =>
  column.values.map((entry) => `${entry.value} (${formatCount(entry.rows)})`).join(', ');

/**
 * "Train a model on this file": the column that says who churned (with its values, and which
 * one means churned when it is not a yes/no), a name, and optionally the day dates count back
 * from. Submitting queues the training and opens the model's page, which follows it.
 */
export function TrainPage(props: { uploadId: string }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [upload, setUpload] = useState<Upload | null>(null);
  const [columns, setColumns] = useState<FileColumn[] | null>(null);
  const [sampled, setSampled] = useState({ rowsRead: 0, complete: true });
  const [loadError, setLoadError] = useState<ApiFailure | null>(null);
  const [label, setLabel] = useState('');
  const [positiveValue, setPositiveValue] = useState('');
  const [name, setName] = useState('');
  const [asOf, setAsOf] = useState('');
  const [submitting, setSubmitting] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    document.title = `Train a model${upload ? ` on ${upload.filename}` : ''} - Churnline`;
  }, [upload]);

  useEffect(() => {
    let stopped = false;
    const path = { path: { id: props.uploadId } };
    Promise.all([
      unwrap(api.GET('/v1/uploads/{id}', { params: path })),
      unwrap(api.GET('/v1/uploads/{id}/columns', { params: path })),
    ]).then(
      ([found, described]) => {
        if (stopped) return;
        setUpload(found);
        setColumns(described.columns);
        setSampled({ rowsRead: described.rowsRead, complete: described.complete });
        const names = described.columns.map((column) => column.name);
        const readable = described.columns
          .filter((column) => column.asLabel.usable)
          .map((column) => column.name);
        setLabel((chosen) => chosen || guessLabelColumn(readable) || guessLabelColumn(names) || '');
        setName((chosen) => chosen || nameFrom(found.filename));
      },
      (failure: unknown) => {
        if (!stopped) setLoadError(asFailure(failure));
      },
    );
    return () => {
      stopped = true;
    };
  }, [props.uploadId]);

  const chosen = columns?.find((column) => column.name === label);
  const where = sampled.complete ? '' : ` in the first ${formatCount(sampled.rowsRead)} rows`;

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!label) {
      setProblem('Choose the column that says who churned.');
      return;
    }
    if (!name.trim()) {
      setProblem('Give the model a name.');
      return;
    }
    setSubmitting(true);
    setProblem(null);
    try {
      const model = await unwrap(
        api.POST('/v1/models', {
          body: {
            uploadId: props.uploadId,
            label,
            name: name.trim(),
            ...(positiveValue.trim() ? { positiveValue: positiveValue.trim() } : {}),
            ...(asOf ? { asOf } : {}),
          },
        }),
      );
      navigate(`/models/${encodeURIComponent(model.id)}?upload=${props.uploadId}`);
    } catch (failure) {
      const refused = asFailure(failure);
      setProblem(forPage(refused.message));
      setSubmitting(false);
      if (refused.code === 'bad_label') document.getElementById('train-positive')?.focus();
    }
  };

  return (
    <>
      <p class="breadcrumb">
        <a href="/" onClick={onLinkClick}>
          Predictions
        </a>
        {' / '}
        <a href={`/uploads/${props.uploadId}`} onClick={onLinkClick}>
          Check columns
        </a>
      </p>
      <h1 tabIndex={-1} ref={heading}>
        Train a model{upload ? ` on ${upload.filename}` : ''}
      </h1>
      {loadError && (
        <p class="error" role="alert">
          {loadError.status === 404
            ? 'There is no such upload in your account.'
            : loadError.message}
        </p>
      )}
      {!columns && !loadError && <p class="loading">Reading the file's columns...</p>}
      {upload && columns && (
        <section class="panel" aria-labelledby="train-title">
          <h2 id="train-title">What to learn from</h2>
          <p class="hint">
            Churnline learns which of your columns tell churners from customers who stayed, from the{' '}
            {formatCount(upload.rowCount)} customers in this file whose outcome you know. It
            measures the model on customers it did not learn from, so you can judge it before
            scoring with it.
          </p>
          <form class="train-form" onSubmit={submit} noValidate>
            <div class="field">
              <label for="train-label">Column that says who churned</label>
              <select
                id="train-label"
                value={label}
                aria-describedby="train-label-values"
                onChange={(event) => {
                  setLabel(event.currentTarget.value);
                  setPositiveValue('');
                }}
                required
              >
                <option value="">Choose a column</option>
                {columns.map((column) => (
                  <option key={column.name} value={column.name}>
                    {column.name}
                  </option>
                ))}
              </select>
              {chosen && (
                <p id="train-label-values" class="hint">
                  {chosen.values.length > 0
                    ? `Its values${where}: ${describeValues(chosen)}.`
                    : `It has more than ${chosen.distinct - 1} different values${where}; a churn column has two.`}
                </p>
              )}
            </div>
            <div class="field">
              <label for="train-positive">
                Value that means churned{!chosen || chosen.asLabel.usable ? ' (optional)' : ''}
              </label>
              {chosen && chosen.values.length > 0 ? (
                <select
                  id="train-positive"
                  value={positiveValue}
                  aria-describedby="train-positive-hint"
                  onChange={(event) => setPositiveValue(event.currentTarget.value)}
                >
                  <option value="">
                    {chosen.asLabel.usable
                      ? `Automatic: ${chosen.asLabel.churnedValue}`
                      : 'Choose the churned value'}
                  </option>
                  {chosen.values.map((entry) => (
                    <option key={entry.value} value={entry.value}>
                      {entry.value}
                    </option>
                  ))}
                </select>
              ) : (
                <input
                  id="train-positive"
                  type="text"
                  autoComplete="off"
                  value={positiveValue}
                  aria-describedby="train-positive-hint"
                  onInput={(event) => setPositiveValue(event.currentTarget.value)}
                />
              )}
              <p id="train-positive-hint" class="hint">
                {chosen && !chosen.asLabel.usable && !positiveValue && chosen.asLabel.problem
                  ? forPage(chosen.asLabel.problem)
                  : 'Yes/No, True/False, 1/0 and a word such as Churned or Cancelled are read without a choice. Rows with no value are left out.'}
              </p>
            </div>
            <div class="field">
              <label for="train-name">Model name</label>
              <input
                id="train-name"
                type="text"
                autoComplete="off"
                maxLength={200}
                value={name}
                onInput={(event) => setName(event.currentTarget.value)}
                required
              />
            </div>
            <div class="field">
              <label for="train-as-of">Count dates back from (optional)</label>
              <input
                id="train-as-of"
                type="date"
                value={asOf}
                aria-describedby="train-as-of-hint"
                onInput={(event) => setAsOf(event.currentTarget.value)}
              />
              <p id="train-as-of-hint" class="hint">
                Dates such as a last login become days before this day. Empty: when the file was
                uploaded ({formatTime(upload.createdAt)}).
              </p>
            </div>
            <div class="button-row">
              <button type="submit" disabled={submitting}>
                {submitting ? 'Starting...' : 'Train model'}
              </button>
            </div>
            {problem && (
              <p class="error" role="alert">
                {problem}
              </p>
            )}
          </form>
        </section>
      )}
    </>
  );
}
