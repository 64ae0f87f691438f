import { useEffect, useRef, useState } from 'preact/hooks';
import {
  type ApiFailure,
  api,
  asFailure,
  downloadTemplate,
  type ModelDetail,
  messageOf,
  type Upload,
  unwrap,
} from './api';
import { formatMs, formatTime } from './format';
import { ModelCardView } from './ModelCard';
import { modelName, scoreUpload, TRAINING_POLL_MS } from './models';
import { ScoreRefusal } from './Refusal';
import { navigate, onLinkClick } from './router';

/**
 * A model: its training followed live, then its card (metrics, calibration, importance, tiers)
 * with the buttons to score a file with it and to make it the default.
 */
export function ModelPage(props: { id: string; uploadId: string | null }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [model, setModel] = useState<ModelDetail | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const [upload, setUpload] = useState<Upload | null>(null);

  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    document.title = `${model?.name ?? 'Model'} - Churnline`;
  }, [model?.name]);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let before: ModelDetail['status'] | undefined;
    const read = async () => {
      try {
        const found = await unwrap(
          api.GET('/v1/models/{id}', { params: { path: { id: props.id } } }),
        );
        if (stopped) return;
        setModel(found);
        setError(null);
        if (before === 'training' && found.status === 'ready')
          setAnnouncement(`${found.name} is trained and ready to score.`);
        if (before === 'training' && found.status === 'failed')
          setAnnouncement(`Training ${found.name} failed.`);
        before = found.status;
        if (found.status === 'training') timer = setTimeout(read, TRAINING_POLL_MS);
      } catch (failure) {
        if (stopped) return;
        const problem = asFailure(failure);
        setError(problem);
        // A passing network problem should not end the follow; a 404 does.
        if (problem.status === 0) timer = setTimeout(read, TRAINING_POLL_MS * 5);
      }
    };
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [props.id]);

  // The file to score: the one named in the address, else the upload it was trained on (found by
  // its fingerprint among the latest uploads).
  const sha256 = model?.card?.fingerprint.sha256;
  useEffect(() => {
    let stopped = false;
    const found = props.uploadId
      ? unwrap(api.GET('/v1/uploads/{id}', { params: { path: { id: props.uploadId } } }))
      : sha256 && model?.source === 'trained'
        ? unwrap(api.GET('/v1/uploads', { params: { query: { limit: 100 } } })).then(
            (list) => list.uploads.find((u) => u.sha256 === sha256) ?? null,
          )
        : Promise.resolve(null);
    found.then(
      (file) => {
        if (!stopped) setUpload(file);
      },
      () => {},
    );
    return () => {
      stopped = true;
    };
  }, [props.uploadId, sha256, model?.source]);

  return (
    <>
      <p class="breadcrumb">
        <a href="/models" onClick={onLinkClick}>
          Models
        </a>
      </p>
      <h1 tabIndex={-1} ref={heading}>
        {model?.name ?? 'Model'}
      </h1>
      <p class="visually-hidden" role="status">
        {announcement}
      </p>
      {error && (
        <p class="error" role="alert">
          {error.status === 404 ? 'There is no such model in your account.' : error.message}
        </p>
      )}
      {!model && !error && <p class="loading">Loading the model...</p>}
      {model && <ModelStatus model={model} />}
      {model?.status === 'training' && <TrainingProgress model={model} upload={upload} />}
      {model?.status === 'failed' && (
        <div class="refusal" role="alert">
          <p class="refusal-title">Training failed.</p>
          <p>{model.error?.message ?? 'No reason was recorded.'}</p>
          {upload && (
            <div class="refusal-actions">
              <a class="button-link" href={`/uploads/${upload.id}/train`} onClick={onLinkClick}>
                Train again on {upload.filename}
              </a>
            </div>
          )}
        </div>
      )}
      {model?.status === 'ready' && (
        <>
          <ModelActions
            model={model}
            upload={upload}
            onDefault={() => setModel({ ...model, isDefault: true })}
          />
          {model.card ? (
            <ModelCardView model={model} card={model.card} />
          ) : (
            <p class="empty">This model has no card.</p>
          )}
        </>
      )}
    </>
  );
}

function ModelStatus({ model }: { model: ModelDetail }) {
  return (
    <div class="status-line">
      <span class={`status status-${model.status}`}>{model.status}</span>
      <span>
        {model.source === 'shipped' ? 'shipped with Churnline' : 'trained on your data'}
        {model.trainedAt && `, ${formatTime(model.trainedAt)}`}
      </span>
      {model.isDefault && <span class="badge">your default model</span>}
    </div>
  );
}

/** The stage training is at and how many cross-validation runs are done, with the time run. */
function TrainingProgress(props: { model: ModelDetail; upload: Upload | null }) {
  const started = props.model.createdAt ? Date.parse(props.model.createdAt) : Date.now();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const progress = props.model.progress;
  const counted = progress !== null && progress.stage !== 'reading the file';
  return (
    <section class="panel" aria-labelledby="training-title">
      <h2 id="training-title">Training</h2>
      <p>
        Learning from {props.upload ? props.upload.filename : 'your file'} and measuring the model
        on customers it did not learn from. This usually takes under a minute; the card appears here
        when it is done.
      </p>
      {counted ? (
        <progress
          class="training-progress"
          aria-label="Training"
          max={progress.total}
          value={progress.done}
        />
      ) : (
        <progress class="training-progress" aria-label="Training" />
      )}
      <p class="hint">
        {progress === null
          ? 'Waiting for a worker.'
          : counted
            ? `${progress.stage === 'choosing features' ? 'Choosing features' : 'Cross-validating'}: ${progress.done} of about ${progress.total} runs.`
            : 'Reading the file.'}{' '}
        {now - started < 1000
          ? 'Started just now.'
          : `Running for ${formatMs(Math.round((now - started) / 1000) * 1000)}.`}
      </p>
    </section>
  );
}

function ModelActions(props: { model: ModelDetail; upload: Upload | null; onDefault(): void }) {
  const { model, upload } = props;
  const [scoring, setScoring] = useState(false);
  const [refusal, setRefusal] = useState<ApiFailure | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [settingDefault, setSettingDefault] = useState(false);

  const score = async (allowPartialFit: boolean) => {
    if (!upload) return;
    setScoring(true);
    setRefusal(null);
    try {
      const prediction = await scoreUpload(upload.id, model.id, allowPartialFit);
      navigate(`/predictions/${prediction.id}`);
    } catch (failure) {
      setRefusal(asFailure(failure));
      setScoring(false);
    }
  };

  const makeDefault = async () => {
    setSettingDefault(true);
    setProblem(null);
    try {
      await unwrap(api.PUT('/v1/settings', { body: { defaultModelId: model.id } }));
      props.onDefault();
    } catch (failure) {
      setProblem(messageOf(failure));
    } finally {
      setSettingDefault(false);
    }
  };

  return (
    <div class="actions">
      <div class="button-row">
        {upload && (
          <button type="button" disabled={scoring} onClick={() => score(false)}>
            {scoring ? 'Starting...' : `Score ${upload.filename} with this model`}
          </button>
        )}
        {!model.isDefault && (
          <button
            type="button"
            class="secondary"
            disabled={settingDefault}
            onClick={makeDefault}
            aria-describedby="default-hint"
          >
            Make it my default
          </button>
        )}
        <button
          type="button"
          class="secondary"
          onClick={() =>
            downloadTemplate(model.id).catch((failure: unknown) => setProblem(messageOf(failure)))
          }
        >
          Example file with its columns
        </button>
      </div>
      <p id="default-hint" class="hint">
        {model.isDefault
          ? '"Upload and score" scores your files with this model, your default.'
          : `"Upload and score" uses your default model. To score another file with this one, make it your default, or choose it when you check that file's columns.`}
      </p>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      {refusal && upload && (
        <ScoreRefusal
          failure={refusal}
          uploadId={upload.id}
          modelId={model.id}
          modelName={modelName(model)}
          linkToCheck
          busy={scoring}
          onScoreAnyway={() => score(true)}
        />
      )}
    </div>
  );
}
