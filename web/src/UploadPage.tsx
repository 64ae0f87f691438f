import { useEffect, useRef, useState } from 'preact/hooks';
import {
  type ApiFailure,
  api,
  asFailure,
  downloadTemplate,
  type FitReport,
  type Model,
  messageOf,
  type Upload,
  unwrap,
} from './api';
import { FitTable } from './FitTable';
import { formatCount, formatTime } from './format';
import {
  describeFit,
  fileColumns,
  listModels,
  listNames,
  modelName,
  readyModels,
  scoreUpload,
} from './models';
import { ScoreRefusal } from './Refusal';
import { navigate, onLinkClick, replaceAddress } from './router';

/**
 * "Check columns": how an upload fits a model before any work, the user's choice of column per
 * model input, and scoring once it fits (or anyway, knowingly).
 */
export function UploadPage(props: { id: string; modelId: string | null }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [upload, setUpload] = useState<Upload | null>(null);
  const [models, setModels] = useState<Model[] | null>(null);
  const [modelId, setModelId] = useState<string | null>(null);
  const [report, setReport] = useState<FitReport | null>(null);
  const [loadError, setLoadError] = useState<ApiFailure | null>(null);
  const [reportError, setReportError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [mappingError, setMappingError] = useState<string | null>(null);
  const [scoring, setScoring] = useState(false);
  const [refusal, setRefusal] = useState<ApiFailure | null>(null);

  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    document.title = `Check columns${upload ? `: ${upload.filename}` : ''} - Churnline`;
  }, [upload]);

  useEffect(() => {
    let stopped = false;
    Promise.all([
      unwrap(api.GET('/v1/uploads/{id}', { params: { path: { id: props.id } } })),
      listModels(),
    ]).then(
      ([found, list]) => {
        if (stopped) return;
        setUpload(found);
        setModels(list);
        const ready = readyModels(list);
        const chosen =
          ready.find((m) => m.id === props.modelId) ?? ready.find((m) => m.isDefault) ?? ready[0];
        setModelId(chosen?.id ?? null);
      },
      (failure: unknown) => {
        if (!stopped) setLoadError(asFailure(failure));
      },
    );
    return () => {
      stopped = true;
    };
  }, [props.id, props.modelId]);

  useEffect(() => {
    if (!modelId) return;
    let stopped = false;
    setReport(null);
    setReportError(null);
    setMappingError(null);
    setRefusal(null);
    unwrap(
      api.GET('/v1/uploads/{id}/mapping', {
        params: { path: { id: props.id }, query: { modelId } },
      }),
    ).then(
      (found) => {
        if (!stopped) setReport(found);
      },
      (failure: unknown) => {
        if (!stopped) setReportError(messageOf(failure));
      },
    );
    return () => {
      stopped = true;
    };
  }, [props.id, modelId]);

  const model = models?.find((m) => m.id === modelId);
  const training = (models ?? []).filter((m) => m.status === 'training');

  const chooseModel = (id: string) => {
    setModelId(id);
    replaceAddress(`/uploads/${props.id}?model=${encodeURIComponent(id)}`);
  };

  // Choices are saved one after another, each on the report the previous one answered, so a
  // quick second choice neither races the first nor undoes it. The selects stay enabled while
  // saving: disabling the one in use would drop the keyboard user's focus.
  const latest = useRef<FitReport | null>(null);
  latest.current = report;
  const saves = useRef<Promise<void>>(Promise.resolve());
  const saveOverrides = (change: (overrides: Record<string, string>) => Record<string, string>) => {
    if (!modelId) return;
    saves.current = saves.current.then(async () => {
      const current = latest.current;
      if (!current || current.modelId !== modelId) return;
      setSaving(true);
      setMappingError(null);
      setRefusal(null);
      try {
        const next = await unwrap(
          api.PUT('/v1/uploads/{id}/mapping', {
            params: { path: { id: props.id }, query: { modelId } },
            body: change({ ...current.overrides }),
          }),
        );
        latest.current = next;
        setReport(next);
      } catch (failure) {
        setMappingError(messageOf(failure));
      } finally {
        setSaving(false);
      }
    });
  };

  const choose = (input: string, column: string) =>
    saveOverrides((overrides) => {
      if (column === '') delete overrides[input];
      else overrides[input] = column;
      return overrides;
    });

  const score = async (allowPartialFit: boolean) => {
    if (!modelId) return;
    setScoring(true);
    setRefusal(null);
    try {
      const prediction = await scoreUpload(props.id, modelId, allowPartialFit);
      navigate(`/predictions/${prediction.id}`);
    } catch (failure) {
      setRefusal(asFailure(failure));
      setScoring(false);
    }
  };

  const fit = report ? describeFit(report) : null;
  const columns = report ? fileColumns(report) : [];

  return (
    <>
      <p class="breadcrumb">
        <a href="/" onClick={onLinkClick}>
          Predictions
        </a>
      </p>
      <h1 tabIndex={-1} ref={heading}>
        Check columns{upload ? `: ${upload.filename}` : ''}
      </h1>
      {loadError && (
        <p class="error" role="alert">
          {loadError.status === 404
            ? 'There is no such upload in your account.'
            : loadError.message}
        </p>
      )}
      {!upload && !loadError && <p class="loading">Loading the file...</p>}
      {upload && (
        <p class="hint">
          {formatCount(upload.rowCount)} customers, uploaded {formatTime(upload.createdAt)}.{' '}
          <a href={`/uploads/${upload.id}/train`} onClick={onLinkClick}>
            Train a model on this file
          </a>
        </p>
      )}
      {models && (
        <section class="panel" aria-labelledby="model-title">
          <h2 id="model-title">Model</h2>
          <div class="model-picker">
            <div>
              <label for="fit-model">Score with</label>
              <select
                id="fit-model"
                value={modelId ?? ''}
                onChange={(event) => chooseModel(event.currentTarget.value)}
                aria-describedby="fit-model-description"
              >
                <ModelOptions models={readyModels(models)} />
              </select>
            </div>
            {model && (
              <p id="fit-model-description" class="hint">
                {model.description}{' '}
                <a
                  href={`/models/${encodeURIComponent(model.id)}?upload=${props.id}`}
                  onClick={onLinkClick}
                >
                  About this model
                </a>
                {' · '}
                <button
                  type="button"
                  class="link-button"
                  onClick={() =>
                    downloadTemplate(model.id).catch((failure: unknown) =>
                      setReportError(messageOf(failure)),
                    )
                  }
                >
                  Example file with its columns
                </button>
              </p>
            )}
          </div>
          {training.length > 0 && (
            <p class="hint">
              Still training, listed once ready: {listNames(training.map((m) => m.name))}.
            </p>
          )}
        </section>
      )}
      {reportError && (
        <p class="error" role="alert">
          {reportError}
        </p>
      )}
      {modelId && !report && !reportError && (
        <p class="loading">Checking the file against the model...</p>
      )}
      {report && fit && (
        <section class="panel" aria-labelledby="fit-title" aria-busy={saving}>
          <h2 id="fit-title">How your columns fit</h2>
          <div class={`verdict verdict-${report.verdict}`} role="status">
            <p class="verdict-title">
              <span class="verdict-badge">{fit.title}</span>{' '}
              {model ? `for ${modelName(model)}` : ''}
            </p>
            {fit.sentences.map((sentence) => (
              <p key={sentence}>{sentence}</p>
            ))}
          </div>
          <p class="hint">
            Checked on the first {formatCount(report.rowsChecked)} rows. Change a column in the
            table to say which of yours feeds an input.
            {Object.keys(report.overrides).length > 0 && (
              <>
                {' '}
                <button
                  type="button"
                  class="link-button"
                  disabled={saving}
                  onClick={() => saveOverrides(() => ({}))}
                >
                  Undo all my choices
                </button>
              </>
            )}
          </p>
          {mappingError && (
            <p class="error" role="alert">
              {mappingError}
            </p>
          )}
          <p class="visually-hidden" role="status">
            {saving ? 'Saving your choice...' : ''}
          </p>
          <FitTable report={report} columns={columns} busy={saving} onChoose={choose} />
          {report.unusedColumns.length > 0 && (
            <p class="hint unused">
              Columns this model does not read: {report.unusedColumns.join(', ')}.
            </p>
          )}
          <div class="button-row">
            <button type="button" disabled={scoring || saving} onClick={() => score(false)}>
              {scoring ? 'Starting...' : `Score with ${model?.name ?? 'this model'}`}
            </button>
          </div>
          {refusal && (
            <ScoreRefusal
              failure={refusal}
              uploadId={props.id}
              modelName={model ? modelName(model) : undefined}
              modelId={modelId ?? undefined}
              busy={scoring}
              onScoreAnyway={() => score(true)}
            />
          )}
        </section>
      )}
    </>
  );
}

/** Shipped models, then the user's, each by name; the default says so. */
function ModelOptions(props: { models: Model[] }) {
  const label = (m: Model) => `${m.name}${m.isDefault ? ' (your default)' : ''}`;
  const shipped = props.models.filter((m) => m.source === 'shipped');
  const own = props.models.filter((m) => m.source === 'trained');
  return (
    <>
      <optgroup label="Shipped">
        {shipped.map((m) => (
          <option key={m.id} value={m.id}>
            {label(m)}
          </option>
        ))}
      </optgroup>
      {own.length > 0 && (
        <optgroup label="Yours">
          {own.map((m) => (
            <option key={m.id} value={m.id}>
              {label(m)}
            </option>
          ))}
        </optgroup>
      )}
    </>
  );
}
