import { useEffect, useState } from 'preact/hooks';
import { type ApiFailure, api, asFailure, unwrap, type WebhookDelivery } from './api';
import { formatTime } from './format';

const REFRESH_MS = 2000;

/** An endpoint's delivery log, newest first, refreshed while it is open (attempts go on). */
export function WebhookDeliveries({ webhookId }: { webhookId: string }) {
  const [deliveries, setDeliveries] = useState<WebhookDelivery[] | null>(null);
  const [problem, setProblem] = useState<ApiFailure | null>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const page = await unwrap(
          api.GET('/v1/webhooks/{id}/deliveries', {
            params: { path: { id: webhookId }, query: { limit: 20 } },
          }),
        );
        if (stopped) return;
        setDeliveries(page.deliveries);
        setProblem(null);
      } catch (failure) {
        if (!stopped) setProblem(asFailure(failure));
      }
      if (!stopped) timer = setTimeout(load, REFRESH_MS);
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [webhookId]);

  if (problem) {
    return (
      <p class="error" role="alert">
        {problem.message}
      </p>
    );
  }
  if (!deliveries) return <p class="loading">Loading deliveries...</p>;
  if (deliveries.length === 0) return <p class="empty">Nothing delivered yet.</p>;
  return (
    <div class="table-scroll">
      <table class="deliveries stack-on-phone">
        <caption class="visually-hidden">Deliveries, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last answer</th>
            <th scope="col">Next attempt</th>
            <th scope="col">webhook-id</th>
          </tr>
        </thead>
        <tbody>
          {deliveries.map((delivery) => (
            <tr key={delivery.id}>
              <td data-label="Event">
                {delivery.eventType}
                <div class="hint">{formatTime(delivery.createdAt)}</div>
              </td>
              <td data-label="Status">
                <span class={`status status-${statusClass(delivery.status)}`}>
                  {delivery.status}
                </span>
              </td>
              <td data-label="Attempts" class="number">
                {delivery.attempts}
              </td>
              <td data-label="Last answer">
                {delivery.error ??
                  (delivery.responseStatus === null ? '-' : `HTTP ${delivery.responseStatus}`)}
              </td>
              <td data-label="Next attempt">
                {delivery.nextAttemptAt ? formatTime(delivery.nextAttemptAt) : '-'}
              </td>
              <td data-label="webhook-id">
                <code>{delivery.id}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The colours predictions use: pending is still running, delivered is completed. */
function statusClass(status: WebhookDelivery['status']): string {
  return status === 'pending' ? 'running' : status === 'delivered' ? 'completed' : 'failed';
}
