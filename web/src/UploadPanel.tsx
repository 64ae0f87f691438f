import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api, type Prediction, type Upload, unwrap, uploadFile } from './api';
import { formatBytes, formatPercent } from './format';
import { listModels, modelName } from './models';
import { ScoreRefusal } from './Refusal';
import { navigate, onLinkClick } from './router';
import { QuotaNote } from './UsagePage';

/**
 * Browser types that say plainly a file is not CSV, whatever its name: a picture, sound or film,
 * a font, a PDF, a workbook or document (xlsx, ods, docx and the like), an archive. Such a file was
 * most likely renamed to .csv, and uploading it would only earn the server's refusal.
 */
const NOT_CSV_TYPE =
  /^(image|video|audio|font)\/|^application\/(pdf|zip|x-zip-compressed|gzip|x-gzip|x-tar|x-7z-compressed|x-rar-compressed|vnd\.rar|msword|vnd\.openxmlformats-officedocument\.|vnd\.oasis\.opendocument\.|vnd\.ms-excel\.|vnd\.apple\.)/;

type Phase =
  | { name: 'idle' }
  | { name: 'uploading'; sent: number; total: number }
  | { name: 'submitting' }
  | { name: 'submitted'; prediction: Prediction; filename: string }
  /** Uploaded, but the model refused it before queueing: the next step is to check columns. */
  | { name: 'refused'; failure: ApiFailure; upload: Upload; modelName?: string }
  | { name: 'failed'; message: string }
  /** A per-user limit refused the upload or the prediction: what it is, and where to act. */
  | { name: 'over-quota'; failure: ApiFailure };

/** Refusals to score that a next step resolves (check columns, train, wait for a model). */
const REFUSALS = new Set(['no_fit', 'poor_fit', 'model_not_ready']);

/**
 * Why a file cannot be uploaded, or null when it can. `maxBytes` is the server's own limit
 * (GET /v1/limits); until it is known the server alone decides, and its 413 is shown verbatim.
 */
export function checkFile(file: File, maxBytes: number | undefined): string | null {
  // The .csv name decides, not a list of allowed types. The browser does not look at the bytes:
  // it takes the type from the operating system's table of extensions, and real CSV files come
  // as text/csv, text/x-csv, application/x-csv, text/comma-separated-values,
  // application/vnd.ms-excel (Windows with Excel installed), text/plain or no type at all, so any
  // list refuses someone's genuine export. Only a type that is clearly something else is
  // refused; the server sniffs the bytes of whatever is sent (csv-sniffer.ts) and has the last word.
  if (!file.name.toLowerCase().endsWith('.csv') || NOT_CSV_TYPE.test(file.type.toLowerCase()))
    return `${file.name} is not a CSV file. Export your customers as .csv (comma-separated values) and try again.`;
  if (file.size === 0) return `${file.name} is empty.`;
  if (maxBytes !== undefined && file.size > maxBytes)
    return `${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(maxBytes)}. Split it into smaller files.`;
  return null;
}

export function UploadPanel(props: {
  onSubmitted(prediction: Prediction): void;
  /** Uploaded, but refused for scoring: the upload is new all the same. */
  onRefused?(upload: Upload): void;
}) {
  const [file, setFile] = useState<File | null>(null);
  const [phase, setPhase] = useState<Phase>({ name: 'idle' });
  const [dragging, setDragging] = useState(false);
  const [maxBytes, setMaxBytes] = useState<number | undefined>(undefined);
  useEffect(() => {
    // Without the limit the check is skipped, never guessed: the server's refusal is shown.
    unwrap(api.GET('/v1/limits')).then(
      (limits) => setMaxBytes(limits.uploadMaxBytes),
      () => {},
    );
  }, []);
  const busy = phase.name === 'uploading' || phase.name === 'submitting';

  const choose = (chosen: File | undefined) => {
    if (!chosen || busy) return;
    const problem = checkFile(chosen, maxBytes);
    setFile(problem ? null : chosen);
    setPhase(problem ? { name: 'failed', message: problem } : { name: 'idle' });
  };

  /** Uploads the chosen file, then scores it with the default model or opens its column check. */
  const start = async (then: 'score' | 'check') => {
    if (!file) return;
    let upload: Upload | undefined;
    try {
      setPhase({ name: 'uploading', sent: 0, total: file.size });
      upload = await uploadFile(file, (sent, total) =>
        setPhase({ name: 'uploading', sent, total }),
      );
      if (then === 'check') {
        navigate(`/uploads/${upload.id}`);
        return;
      }
      setPhase({ name: 'submitting' });
      const prediction = await unwrap(
        api.POST('/v1/predictions', { body: { uploadId: upload.id } }),
      );
      setPhase({ name: 'submitted', prediction, filename: upload.filename });
      setFile(null);
      props.onSubmitted(prediction);
    } catch (error) {
      if (upload && error instanceof ApiFailure && REFUSALS.has(error.code)) {
        setFile(null);
        const refused = { name: 'refused', failure: error, upload } as const;
        setPhase(refused);
        props.onRefused?.(upload);
        // Named in the note when the list answers; the note stands without it.
        const model = (await listModels().catch(() => [])).find((m) => m.isDefault);
        if (model) setPhase({ ...refused, modelName: modelName(model) });
        return;
      }
      if (error instanceof ApiFailure && error.quota) {
        setFile(null);
        setPhase({ name: 'over-quota', failure: error });
        // Uploaded, then refused for scoring: the upload is new all the same.
        if (upload) props.onRefused?.(upload);
        return;
      }
      const message = error instanceof ApiFailure ? error.message : String(error);
      setPhase({ name: 'failed', message });
    }
  };

  return (
    <section class="panel" aria-labelledby="upload-title">
      <h2 id="upload-title">Score a customer file</h2>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: dropping is a pointer shortcut; the file input inside is the keyboard and screen-reader way */}
      <div
        class={`dropzone${dragging ? ' dragging' : ''}`}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => {
          event.preventDefault();
          setDragging(false);
          choose(event.dataTransfer?.files[0]);
        }}
      >
        <input
          id="upload-file"
          class="visually-hidden"
          type="file"
          accept=".csv,text/csv"
          disabled={busy}
          aria-describedby="upload-hint"
          onChange={(event) => {
            choose(event.currentTarget.files?.[0]);
            event.currentTarget.value = '';
          }}
        />
        <label for="upload-file" class="dropzone-label">
          <strong>Choose a CSV file</strong> or drop it here
        </label>
        <p id="upload-hint" class="hint">
          One row per customer with a header row
          {maxBytes === undefined ? '' : `, up to ${formatBytes(maxBytes)}`}.
        </p>
        {file && (
          <p class="chosen">
            {file.name} ({formatBytes(file.size)})
          </p>
        )}
      </div>
      <div class="button-row">
        <button type="button" disabled={!file || busy} onClick={() => start('score')}>
          Upload and score
        </button>
        <button
          type="button"
          class="secondary"
          disabled={!file || busy}
          onClick={() => start('check')}
        >
          Upload and check columns
        </button>
      </div>
      <p class="hint">
        Scoring uses your default model. Check columns first to see which of your columns a model
        reads, to choose another model, or to train one on your file.
      </p>
      <UploadStatus phase={phase} />
    </section>
  );
}

function UploadStatus({ phase }: { phase: Phase }) {
  switch (phase.name) {
    case 'idle':
      return <p class="visually-hidden" role="status" />;
    case 'uploading': {
      const fraction = phase.total === 0 ? 0 : phase.sent / phase.total;
      return (
        <div role="status" class="progress">
          <label for="upload-progress">
            Uploading: {formatPercent(fraction, 0)} ({formatBytes(phase.sent)} of{' '}
            {formatBytes(phase.total)})
          </label>
          <progress id="upload-progress" max={phase.total} value={phase.sent} />
        </div>
      );
    }
    case 'submitting':
      return <p role="status">Uploaded; starting the prediction...</p>;
    case 'submitted':
      return (
        <p role="status" class="success">
          {phase.filename} is queued for scoring.{' '}
          <a href={`/predictions/${phase.prediction.id}`} onClick={onLinkClick}>
            Follow it
          </a>
        </p>
      );
    case 'refused':
      return (
        <div class="upload-refused">
          <p class="hint">{phase.upload.filename} is uploaded, but not scored.</p>
          <ScoreRefusal
            failure={phase.failure}
            uploadId={phase.upload.id}
            modelName={phase.modelName ?? 'Your default model'}
            linkToCheck
          />
        </div>
      );
    case 'failed':
      return (
        <p role="alert" class="error">
          {phase.message}
        </p>
      );
    case 'over-quota':
      return <QuotaNote failure={phase.failure} />;
  }
}
