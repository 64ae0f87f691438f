import { useEffect, useRef, useState } from 'preact/hooks';
import {
  type ApiFailure,
  api,
  asFailure,
  failureFrom,
  unwrap,
  type Webhook,
  type WebhookEvent,
} from './api';
import { WebhookDeliveries } from './WebhookDeliveries';

const EVENTS: { event: WebhookEvent; label: string }[] = [
  { event: 'prediction.completed', label: 'A prediction completed' },
  { event: 'prediction.failed', label: 'A prediction failed' },
  { event: 'customers.newly_high_risk', label: 'Customers became high risk' },
];

/** A secret the API shows once: kept on screen until the user says they have stored it. */
interface ShownSecret {
  webhookId: string;
  secret: string;
  why: 'created' | 'rotated';
}

/**
 * The user's webhook endpoints: add one (URL, events, format), see its secret once, rotate it,
 * switch it off, send a test, delete it, and read its delivery log.
 */
export function WebhooksPage() {
  const heading = useRef<HTMLHeadingElement>(null);
  const [webhooks, setWebhooks] = useState<Webhook[] | null>(null);
  const [problem, setProblem] = useState<ApiFailure | null>(null);
  const [shown, setShown] = useState<ShownSecret | null>(null);
  const [status, setStatus] = useState('');
  const [open, setOpen] = useState<string | null>(null);

  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    document.title = 'Webhooks - Churnline';
  }, []);
  const load = () =>
    unwrap(api.GET('/v1/webhooks')).then(
      (list) => setWebhooks(list.webhooks),
      (failure: unknown) => setProblem(asFailure(failure)),
    );
  useEffect(() => void load(), []);

  /** Runs an action on an endpoint: its failure is shown, success reloads the list. */
  const act = async (work: () => Promise<string>) => {
    setProblem(null);
    try {
      setStatus(await work());
      await load();
    } catch (failure) {
      setProblem(asFailure(failure));
    }
  };
  const path = (id: string) => ({ params: { path: { id } } });

  return (
    <>
      <h1 tabIndex={-1} ref={heading}>
        Webhooks
      </h1>
      <p class="hint">
        Churnline POSTs an event to each endpoint when a prediction completes or fails, or when
        customers become high risk. Every request is signed (Standard Webhooks: headers webhook-id,
        webhook-timestamp, webhook-signature); failed deliveries are retried for about a day with
        the same webhook-id.
      </p>
      {problem && (
        <p class="error" role="alert">
          {problem.message}
        </p>
      )}
      <p class="status-line" role="status">
        {status}
      </p>
      {shown && (
        <section class="panel secret" aria-labelledby="secret-title">
          <h2 id="secret-title">
            {shown.why === 'created' ? 'Endpoint added: its signing secret' : 'The new secret'}
          </h2>
          <p>
            Copy it now: it is not shown again.
            {shown.why === 'rotated' && ' The old secret keeps signing beside it for 24 hours.'}
          </p>
          <code class="secret-value">{shown.secret}</code>
          <div class="button-row">
            <button type="button" class="secondary" onClick={() => setShown(null)}>
              I have stored it
            </button>
          </div>
        </section>
      )}
      <NewWebhook
        onCreated={async (created) => {
          setShown({ webhookId: created.id, secret: created.secret, why: 'created' });
          setStatus(`Added ${created.url}.`);
          await load();
        }}
        onProblem={setProblem}
      />
      {!webhooks && !problem && <p class="loading">Loading your webhooks...</p>}
      {webhooks?.length === 0 && <p class="empty">No webhooks yet.</p>}
      <ul class="webhooks">
        {webhooks?.map((hook) => (
          <li key={hook.id} class="panel webhook">
            <h2 class="webhook-url">{hook.url}</h2>
            <p>
              {hook.enabled ? 'Enabled' : 'Disabled'} ·{' '}
              {hook.format === 'slack' ? 'Slack' : 'Standard'} · {hook.events.join(', ')}
            </p>
            <div class="button-row">
              <button
                type="button"
                class="secondary"
                disabled={!hook.enabled}
                onClick={() =>
                  act(async () => {
                    await unwrap(api.POST('/v1/webhooks/{id}/test', path(hook.id)));
                    setOpen(hook.id);
                    return `Test event sent to ${hook.url}.`;
                  })
                }
              >
                Send a test
              </button>
              <button
                type="button"
                class="secondary"
                onClick={() =>
                  act(async () => {
                    const enabled = !hook.enabled;
                    await unwrap(
                      api.PATCH('/v1/webhooks/{id}', { ...path(hook.id), body: { enabled } }),
                    );
                    return `${enabled ? 'Enabled' : 'Disabled'} ${hook.url}.`;
                  })
                }
              >
                {hook.enabled ? 'Disable' : 'Enable'}
              </button>
              <button
                type="button"
                class="secondary"
                onClick={() =>
                  act(async () => {
                    const rotated = await unwrap(
                      api.POST('/v1/webhooks/{id}/rotate-secret', path(hook.id)),
                    );
                    setShown({ webhookId: hook.id, secret: rotated.secret, why: 'rotated' });
                    return `Rotated the secret of ${hook.url}.`;
                  })
                }
              >
                Rotate secret
              </button>
              <button
                type="button"
                class="secondary"
                aria-expanded={open === hook.id}
                onClick={() => setOpen(open === hook.id ? null : hook.id)}
              >
                {open === hook.id ? 'Hide deliveries' : 'Deliveries'}
              </button>
              <button
                type="button"
                class="link-button"
                onClick={() => {
                  if (!window.confirm(`Delete the webhook to ${hook.url}?`)) return;
                  void act(async () => {
                    const { response, error } = await api.DELETE(
                      '/v1/webhooks/{id}',
                      path(hook.id),
                    );
                    if (!response.ok) throw failureFrom(response.status, error);
                    return `Deleted ${hook.url}.`;
                  });
                }}
              >
                Delete
              </button>
            </div>
            {open === hook.id && <WebhookDeliveries webhookId={hook.id} />}
          </li>
        ))}
      </ul>
    </>
  );
}

function NewWebhook(props: {
  onCreated(created: Webhook & { secret: string }): Promise<void>;
  onProblem(failure: ApiFailure | null): void;
}) {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<WebhookEvent[]>(['prediction.completed']);
  const [format, setFormat] = useState<'standard' | 'slack'>('standard');
  const [saving, setSaving] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    props.onProblem(null);
    try {
      const created = await unwrap(
        api.POST('/v1/webhooks', { body: { url: url.trim(), events, format } }),
      );
      setUrl('');
      await props.onCreated(created);
    } catch (failure) {
      props.onProblem(asFailure(failure));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form class="panel new-webhook" onSubmit={submit} noValidate>
      <h2>Add an endpoint</h2>
      <div class="field">
        <label for="webhook-url">URL</label>
        <input
          id="webhook-url"
          type="url"
          value={url}
          placeholder="https://example.com/churnline"
          maxLength={2000}
          onInput={(e) => setUrl(e.currentTarget.value)}
        />
      </div>
      <fieldset>
        <legend>Events</legend>
        {EVENTS.map(({ event, label }) => (
          <label key={event} class="checkbox">
            <input
              type="checkbox"
              checked={events.includes(event)}
              onChange={(e) =>
                setEvents((list) =>
                  e.currentTarget.checked
                    ? [...list, event]
                    : list.filter((chosen) => chosen !== event),
                )
              }
            />{' '}
            {label} <code>{event}</code>
          </label>
        ))}
      </fieldset>
      <div class="field">
        <label for="webhook-format">Format</label>
        <select
          id="webhook-format"
          value={format}
          onChange={(e) => setFormat(e.currentTarget.value as 'standard' | 'slack')}
        >
          <option value="standard">Standard Webhooks JSON</option>
          <option value="slack">Slack message (incoming webhook URL)</option>
        </select>
      </div>
      <div class="button-row">
        <button type="submit" disabled={saving}>
          {saving ? 'Adding...' : 'Add endpoint'}
        </button>
      </div>
    </form>
  );
}
