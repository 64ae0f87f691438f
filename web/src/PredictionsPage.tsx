import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, api, type Prediction, type Upload, unwrap } from './api';
import { formatCount, formatMs, formatTime } from './format';
import { RecentFiles } from './RecentFiles';
import { onLinkClick } from './router';
import { UploadPanel } from './UploadPanel';

/** While a prediction is queued or running, the list is re-read this often. */
const POLL_MS = 1000;
const PAGE = 20;

export function PredictionsPage() {
  const heading = useRef<HTMLHeadingElement>(null);
  const [predictions, setPredictions] = useState<Prediction[] | null>(null);
  const [uploads, setUploads] = useState<Map<string, Upload>>(new Map());
  // The cursor after the first page, from the latest poll; used while no older page is loaded.
  const [firstPageCursor, setFirstPageCursor] = useState<string | null>(null);
  // After "Show older predictions": the cursor after the oldest page loaded, null at the end.
  // Polls never touch it (they read the first page only), so the end stays the end.
  const [olderCursor, setOlderCursor] = useState<string | null | undefined>(undefined);
  const nextCursor = olderCursor === undefined ? firstPageCursor : olderCursor;
  const [error, setError] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState('');
  // Bumped to re-read at once (a new prediction was submitted).
  const [refresh, setRefresh] = useState(0);
  const known = useRef(new Map<string, Prediction['status']>());

  useEffect(() => {
    heading.current?.focus();
    document.title = 'Predictions - Churnline';
  }, []);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const [page, uploadList] = await Promise.all([
          unwrap(api.GET('/v1/predictions', { params: { query: { limit: PAGE } } })),
          unwrap(api.GET('/v1/uploads', { params: { query: { limit: 100 } } })),
        ]);
        if (stopped) return;
        setUploads(new Map(uploadList.uploads.map((u) => [u.id, u])));
        setPredictions((shown) => mergeFirstPage(shown, page.predictions));
        setFirstPageCursor(page.nextCursor);
        const finished = transitions(known.current, page.predictions, uploadList.uploads);
        if (finished) setAnnouncement(finished);
        setError(null);
        if (page.predictions.some((p) => p.status === 'queued' || p.status === 'running'))
          timer = setTimeout(read, POLL_MS);
      } catch (failure) {
        if (stopped) return;
        setError(failure instanceof ApiFailure ? failure.message : String(failure));
        timer = setTimeout(read, POLL_MS * 5);
      }
    };
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [refresh]);

  const loadMore = async () => {
    if (!nextCursor) return;
    try {
      const page = await unwrap(
        api.GET('/v1/predictions', { params: { query: { limit: PAGE, cursor: nextCursor } } }),
      );
      setPredictions((shown) => appendOlder(shown ?? [], page.predictions));
      setOlderCursor(page.nextCursor);
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.message : String(failure));
    }
  };

  return (
    <>
      <h1 tabIndex={-1} ref={heading}>
        Predictions
      </h1>
      <UploadPanel
        onSubmitted={() => setRefresh((n) => n + 1)}
        onRefused={() => setRefresh((n) => n + 1)}
      />
      <section class="panel" aria-labelledby="list-title">
        <h2 id="list-title">Your predictions</h2>
        <p class="visually-hidden" role="status">
          {announcement}
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {predictions === null && !error && <p class="loading">Loading your predictions...</p>}
        {predictions?.length === 0 && (
          <p class="empty">No predictions yet: upload a customer CSV above to score it.</p>
        )}
        {predictions && predictions.length > 0 && (
          <PredictionTable predictions={predictions} uploads={uploads} />
        )}
        {nextCursor && (
          <button type="button" class="secondary" onClick={loadMore}>
            Show older predictions
          </button>
        )}
      </section>
      <RecentFiles uploads={[...uploads.values()]} />
    </>
  );
}

function PredictionTable(props: { predictions: Prediction[]; uploads: Map<string, Upload> }) {
  return (
    <div class="table-scroll">
      <table class="predictions stack-on-phone">
        <caption class="visually-hidden">Predictions, newest first</caption>
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col" class="number">
              Customers
            </th>
            <th scope="col" class="number">
              Waited
            </th>
            <th scope="col" class="number">
              Scoring took
            </th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {props.predictions.map((p) => (
            <tr key={p.id} data-prediction={p.id}>
              <td data-label="File">{props.uploads.get(p.uploadId)?.filename ?? 'upload'}</td>
              <td data-label="Status">
                <span class={`status status-${p.status}`}>{p.status}</span>
                {p.attempts > 1 && <span class="hint"> (attempt {p.attempts})</span>}
              </td>
              <td data-label="Created">{formatTime(p.createdAt)}</td>
              <td data-label="Customers" class="number">
                {p.rowsScored !== null
                  ? formatCount(p.rowsScored)
                  : p.status === 'running' && p.progress?.percent != null
                    ? `${p.progress.percent}%`
                    : '-'}
              </td>
              <td data-label="Waited" class="number">
                {formatMs(p.timings.queuedMs)}
              </td>
              <td data-label="Scoring took" class="number">
                {formatMs(p.timings.runMs)}
              </td>
              <td data-label="Result">
                {p.status === 'completed' ? (
                  <a href={`/predictions/${p.id}`} onClick={onLinkClick}>
                    View results
                  </a>
                ) : p.error ? (
                  <span class="error-text">{p.error.message}</span>
                ) : (
                  <a href={`/predictions/${p.id}`} onClick={onLinkClick}>
                    Details
                  </a>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Whether `a` lists after `b`: the API's order, newest first by (createdAt, id). */
function isOlder(a: Prediction, b: Prediction): boolean {
  return a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.id < b.id);
}

/** The fresh first page in place of the shown one, keeping older pages loaded below it. */
function mergeFirstPage(shown: Prediction[] | null, first: Prediction[]): Prediction[] {
  const ids = new Set(first.map((p) => p.id));
  const oldest = first.at(-1);
  if (!oldest) return first;
  return [...first, ...(shown ?? []).filter((p) => !ids.has(p.id) && isOlder(p, oldest))];
}

/**
 * An older page below the shown ones, each prediction once: a row can be on both when new
 * predictions pushed it off the first page after the cursor was taken.
 */
function appendOlder(shown: Prediction[], older: Prediction[]): Prediction[] {
  const ids = new Set(shown.map((p) => p.id));
  return [...shown, ...older.filter((p) => !ids.has(p.id))];
}

/** A sentence for screen readers about predictions that finished since the last read. */
function transitions(
  known: Map<string, Prediction['status']>,
  predictions: Prediction[],
  uploads: Upload[],
): string {
  const finished: string[] = [];
  for (const p of predictions) {
    const before = known.get(p.id);
    known.set(p.id, p.status);
    if (
      before !== undefined &&
      before !== p.status &&
      (p.status === 'completed' || p.status === 'failed')
    ) {
      const name = uploads.find((u) => u.id === p.uploadId)?.filename ?? 'a file';
      finished.push(
        `The prediction for ${name} ${p.status === 'completed' ? 'completed' : 'failed'}.`,
      );
    }
  }
  return finished.join(' ');
}
