import { useEffect, useRef, useState } from 'preact/hooks';
import {
  type ApiFailure,
  api,
  failureFrom,
  messageOf,
  type QuotaRefusal,
  type Upload,
  type Usage,
  unwrap,
} from './api';
import { formatBytes, formatCount, formatTime } from './format';
import { onLinkClick } from './router';

const LIMIT_NAMES: Record<QuotaRefusal['name'], string> = {
  stored_bytes: 'Storage is full',
  uploads_per_day: "Today's uploads are used up",
  active_jobs: 'Too many jobs at once',
  requests_per_second: 'Too many requests',
};

/**
 * A request a per-user limit refused: which limit, the server's message (what is used, the
 * limit, what to do) and a link to the usage page, where space can be freed.
 */
export function QuotaNote({ failure }: { failure: ApiFailure }) {
  const quota = failure.quota;
  return (
    <div class="quota-note error" role="alert">
      <p>
        <strong>{quota ? LIMIT_NAMES[quota.name] : 'Refused'}.</strong> {failure.message}
      </p>
      <p>
        <a href="/usage" onClick={onLinkClick}>
          See your usage
        </a>
        {quota?.name === 'stored_bytes' ? ' and delete uploads you no longer need.' : '.'}
      </p>
    </div>
  );
}

/** The account's use of each quota, and its uploads with their sizes, to free space. */
export function UsagePage() {
  const heading = useRef<HTMLHeadingElement>(null);
  const [usage, setUsage] = useState<Usage | null>(null);
  const [uploads, setUploads] = useState<Upload[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const [refresh, setRefresh] = useState(0);

  useEffect(() => {
    heading.current?.focus();
    document.title = 'Usage - Churnline';
  }, []);

  useEffect(() => {
    let stopped = false;
    Promise.all([
      unwrap(api.GET('/v1/usage')),
      unwrap(api.GET('/v1/uploads', { params: { query: { limit: 100 } } })),
    ]).then(
      ([read, list]) => {
        if (stopped) return;
        setUsage(read);
        setUploads(list.uploads);
        setError(null);
      },
      (failure: unknown) => {
        if (!stopped) setError(messageOf(failure));
      },
    );
    return () => {
      stopped = true;
    };
  }, [refresh]);

  const remove = async (upload: Upload) => {
    try {
      // 204 has no body, which unwrap() would take for a failure.
      const { response, error } = await api.DELETE('/v1/uploads/{id}', {
        params: { path: { id: upload.id } },
      });
      if (!response.ok) throw failureFrom(response.status, error);
      setAnnouncement(`Deleted ${upload.filename}.`);
      setRefresh((n) => n + 1);
    } catch (failure) {
      setAnnouncement('');
      setError(messageOf(failure));
    }
  };

  return (
    <>
      <h1 tabIndex={-1} ref={heading}>
        Usage
      </h1>
      <p class="visually-hidden" role="status">
        {announcement}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {usage === null && !error && <p class="loading">Loading your usage...</p>}
      {usage && <UsageMeters usage={usage} />}
      {uploads && (
        <section class="panel" aria-labelledby="uploads-title">
          <h2 id="uploads-title">Your uploads</h2>
          <p class="hint">
            Deleting an upload frees its storage; predictions made from it keep their results
            (delete those on their own pages). It does not give back an upload of today's.
          </p>
          {uploads.length === 0 ? (
            <p class="empty">You have no uploads.</p>
          ) : (
            <div class="table-scroll">
              <table class="uploads-table">
                <thead>
                  <tr>
                    <th scope="col">File</th>
                    <th scope="col" class="number">
                      Size
                    </th>
                    <th scope="col" class="number">
                      Customers
                    </th>
                    <th scope="col">Uploaded</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {uploads.map((upload) => (
                    <tr key={upload.id} data-upload={upload.id}>
                      <th scope="row">{upload.filename}</th>
                      <td class="number">{formatBytes(upload.bytes)}</td>
                      <td class="number">{formatCount(upload.rowCount)}</td>
                      <td>{formatTime(upload.createdAt)}</td>
                      <td>
                        <button
                          type="button"
                          class="secondary"
                          aria-label={`Delete ${upload.filename}`}
                          onClick={() => void remove(upload)}
                        >
                          Delete
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}
    </>
  );
}

function UsageMeters({ usage }: { usage: Usage }) {
  const { storedBytes, uploadsToday, activeJobs, rateLimit } = usage;
  return (
    <section class="panel" aria-labelledby="usage-title">
      <h2 id="usage-title">Your limits</h2>
      <dl class="usage-meters">
        <Meter
          id="stored"
          label="Storage"
          used={storedBytes.used}
          limit={storedBytes.limit}
          format={formatBytes}
          detail={`Uploads ${formatBytes(storedBytes.uploads)}, results ${formatBytes(storedBytes.results)}.`}
        />
        <Meter
          id="uploads-today"
          label="Uploads today"
          used={uploadsToday.used}
          limit={uploadsToday.limit}
          format={formatCount}
          detail={`The count starts again at ${formatTime(uploadsToday.resetsAt)}.`}
        />
        <Meter
          id="active-jobs"
          label="Queued or running"
          used={activeJobs.used}
          limit={activeJobs.limit}
          format={formatCount}
          detail={`${formatCount(activeJobs.predictions)} predictions, ${formatCount(activeJobs.trainings)} trainings.`}
        />
        <div class="usage-meter" data-meter="rate">
          <dt>Requests</dt>
          <dd>
            {rateLimit
              ? `Up to ${rateLimit.perSecond} a second, in bursts of ${formatCount(rateLimit.burst)}.`
              : 'No limit.'}
          </dd>
        </div>
      </dl>
    </section>
  );
}

function Meter(props: {
  id: string;
  label: string;
  used: number;
  limit: number | null;
  format(n: number): string;
  detail: string;
}) {
  const { used, limit, format } = props;
  const full = limit !== null && used >= limit;
  return (
    <div class={`usage-meter${full ? ' full' : ''}`} data-meter={props.id}>
      <dt id={`meter-${props.id}`}>{props.label}</dt>
      <dd>
        <span class="usage-figures">
          {format(used)} {limit === null ? '(no limit)' : `of ${format(limit)}`}
          {full && ' - limit reached'}
        </span>
        {limit !== null && (
          <meter
            aria-labelledby={`meter-${props.id}`}
            min={0}
            max={limit}
            value={Math.min(used, limit)}
            high={limit * 0.9}
          />
        )}
        <span class="hint">{props.detail}</span>
      </dd>
    </div>
  );
}
