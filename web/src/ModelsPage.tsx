import { useEffect, useRef, useState } from 'preact/hooks';
import { api, failureFrom, type Model, messageOf } from './api';
import { formatCount, formatTime } from './format';
import { listModels, TRAINING_POLL_MS } from './models';
import { onLinkClick } from './router';

/** The models a user can score with: the shipped ones and their own, with status and metrics. */
export function ModelsPage() {
  const heading = useRef<HTMLHeadingElement>(null);
  const [models, setModels] = useState<Model[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const [deleting, setDeleting] = useState<Model | null>(null);
  const [refresh, setRefresh] = useState(0);

  useEffect(() => {
    heading.current?.focus();
    document.title = 'Models - Churnline';
  }, []);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const list = await listModels();
        if (stopped) return;
        setModels(list);
        setError(null);
        if (list.some((m) => m.status === 'training')) timer = setTimeout(read, TRAINING_POLL_MS);
      } catch (failure) {
        if (stopped) return;
        setError(messageOf(failure));
        timer = setTimeout(read, TRAINING_POLL_MS * 5);
      }
    };
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [refresh]);

  const own = models?.filter((m) => m.source === 'trained') ?? [];

  return (
    <>
      <h1 tabIndex={-1} ref={heading}>
        Models
      </h1>
      <p class="visually-hidden" role="status">
        {announcement}
      </p>
      <section class="panel" aria-labelledby="models-title">
        <h2 id="models-title">Models you can score with</h2>
        <p class="hint">
          Churnline ships a model trained on a telecom sample. For your own customers, train one:
          upload a file with a column that says who churned, choose{' '}
          <a href="/" onClick={onLinkClick}>
            Upload and check columns
          </a>
          , then <q>Train a model on this file</q>.
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {models === null && !error && <p class="loading">Loading your models...</p>}
        {models && <ModelTable models={models} onDelete={setDeleting} />}
        {models && own.length === 0 && <p class="empty">You have not trained a model yet.</p>}
      </section>
      {deleting && (
        <DeleteDialog
          model={deleting}
          onClose={(deleted) => {
            setDeleting(null);
            if (deleted) {
              setAnnouncement(`Deleted ${deleted.name}.`);
              setRefresh((n) => n + 1);
            }
          }}
        />
      )}
    </>
  );
}

function ModelTable(props: { models: Model[]; onDelete(model: Model): void }) {
  return (
    <div class="table-scroll">
      <table class="models stack-on-phone">
        <caption class="visually-hidden">Shipped models, then yours</caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Status</th>
            <th scope="col" class="number">
              ROC AUC
            </th>
            <th scope="col" class="number">
              PR AUC
            </th>
            <th scope="col" class="number">
              Customers
            </th>
            <th scope="col">Trained</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.models.map((m) => (
            <tr key={m.id} data-model={m.id}>
              <th scope="row" data-label="Model">
                <a href={`/models/${encodeURIComponent(m.id)}`} onClick={onLinkClick}>
                  {m.name}
                </a>
                {m.source === 'shipped' && <span class="hint"> shipped</span>}
                {m.isDefault && <span class="badge">default</span>}
              </th>
              <td data-label="Status">
                <span class={`status status-${m.status}`}>{m.status}</span>
                {m.error && <span class="error-text"> {m.error.message}</span>}
              </td>
              <td data-label="ROC AUC" class="number">
                {m.metrics ? m.metrics.rocAuc.toFixed(3) : '-'}
              </td>
              <td data-label="PR AUC" class="number">
                {m.metrics ? m.metrics.prAuc.toFixed(3) : '-'}
              </td>
              <td data-label="Customers" class="number">
                {m.rows === null ? '-' : formatCount(m.rows)}
              </td>
              <td data-label="Trained">{m.trainedAt ? formatTime(m.trainedAt) : '-'}</td>
              <td data-label="Actions">
                {m.source === 'trained' && (
                  <button type="button" class="link-button" onClick={() => props.onDelete(m)}>
                    Delete<span class="visually-hidden"> {m.name}</span>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Asks before deleting a model, in a modal dialog (the browser keeps focus inside it and closes
 * it on Escape).
 */
function DeleteDialog(props: { model: Model; onClose(deleted: Model | null): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const deleted = useRef(false);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  const confirm = async () => {
    setBusy(true);
    setProblem(null);
    try {
      // 204 has no body, which unwrap() would take for a failure.
      const { response, error } = await api.DELETE('/v1/models/{id}', {
        params: { path: { id: props.model.id } },
      });
      if (!response.ok) throw failureFrom(response.status, error);
      deleted.current = true;
      dialog.current?.close();
    } catch (failure) {
      setProblem(messageOf(failure));
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby="delete-title"
      aria-describedby="delete-text"
      onClose={() => props.onClose(deleted.current ? props.model : null)}
    >
      <h2 id="delete-title">Delete {props.model.name}?</h2>
      <p id="delete-text">
        It can no longer score. Predictions already made with it keep their results.
        {props.model.isDefault &&
          ' It is your default model: the shipped model becomes the default again.'}
      </p>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <div class="choice">
        <button type="button" class="danger" disabled={busy} onClick={confirm}>
          {busy ? 'Deleting...' : 'Delete'}
        </button>
        <button
          type="button"
          class="secondary"
          disabled={busy}
          autofocus
          onClick={() => dialog.current?.close()}
        >
          Cancel
        </button>
      </div>
    </dialog>
  );
}
