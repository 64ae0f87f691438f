import createClient from 'openapi-fetch';
import type { paths } from './api-types';
import { readToken } from './auth';

/** The API's answer to a request it refused: `{ error: { code, message } }`, shown verbatim. */
export class ApiFailure extends Error {
  override name = 'ApiFailure';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Which per-user limit refused the request, when one did. */
    readonly quota?: QuotaRefusal,
  ) {
    super(message);
  }
}

/** The `quota` of an error body: the limit that refused, its value and the user's use. */
export interface QuotaRefusal {
  name: 'stored_bytes' | 'uploads_per_day' | 'active_jobs' | 'requests_per_second';
  limit: number;
  used: number | null;
  requested?: number;
  resetsAt?: string;
}

export type Usage = paths['/v1/usage']['get']['responses'][200]['content']['application/json'];

export type Prediction =
  paths['/v1/predictions/{id}']['get']['responses'][200]['content']['application/json'];
export type Upload =
  paths['/v1/uploads/{id}']['get']['responses'][200]['content']['application/json'];
export type RowsPage =
  paths['/v1/predictions/{id}/rows']['get']['responses'][200]['content']['application/json'];
export type RowsQuery = NonNullable<
  paths['/v1/predictions/{id}/rows']['get']['parameters']['query']
>;
export type ScoredRow = RowsPage['rows'][number];
export type FitReport =
  paths['/v1/uploads/{id}/mapping']['get']['responses'][200]['content']['application/json'];
export type InputFit = FitReport['inputs'][number];
export type FileColumn =
  paths['/v1/uploads/{id}/columns']['get']['responses'][200]['content']['application/json']['columns'][number];
export type Model =
  paths['/v1/models']['get']['responses'][200]['content']['application/json']['models'][number];
export type ModelDetail =
  paths['/v1/models/{id}']['get']['responses'][200]['content']['application/json'];
export type ModelCard = NonNullable<ModelDetail['card']>;
export type Changes =
  paths['/v1/predictions/{id}/changes']['get']['responses'][200]['content']['application/json'];
export type Customer =
  paths['/v1/customers/{customerId}']['get']['responses'][200]['content']['application/json'];
export type CustomerChange = NonNullable<ScoredRow['change']>;
export type Playbook =
  paths['/v1/playbook']['get']['responses'][200]['content']['application/json']['playbook'];

export type Webhook =
  paths['/v1/webhooks/{id}']['get']['responses'][200]['content']['application/json'];
export type WebhookEvent = Webhook['events'][number];
export type WebhookDelivery =
  paths['/v1/webhooks/{id}/deliveries']['get']['responses'][200]['content']['application/json']['deliveries'][number];

/** Called when the API answers 401: the token expired or was revoked. */
let onUnauthorised: (failure: ApiFailure) => void = () => {};
export function whenUnauthorised(handler: (failure: ApiFailure) => void): void {
  onUnauthorised = handler;
}

export const api = createClient<paths>({ baseUrl: window.location.origin });
api.use({
  onRequest({ request }) {
    const token = readToken();
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    return request;
  },
});

/** The data of a successful call, or an ApiFailure carrying the server's own message. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    throw new ApiFailure(0, 'network', `Could not reach the Churnline API: ${String(error)}.`);
  }
  if (result.response.ok && result.data !== undefined) return result.data;
  throw failureFrom(result.response.status, result.error);
}

export function failureFrom(status: number, body: unknown): ApiFailure {
  const error = (body as { error?: { code?: unknown; message?: unknown; quota?: unknown } } | null)
    ?.error;
  const quota =
    error?.quota && typeof error.quota === 'object' ? (error.quota as QuotaRefusal) : undefined;
  const failure =
    typeof error?.message === 'string'
      ? new ApiFailure(status, String(error.code ?? 'error'), error.message, quota)
      : new ApiFailure(status, 'http_error', `The API answered ${status} without an explanation.`);
  if (status === 401) onUnauthorised(failure);
  return failure;
}

/**
 * Uploads a file as multipart field "file" and reports progress. XMLHttpRequest, not fetch:
 * fetch cannot report how much of a request body has been sent. The response is the same typed
 * Upload that GET /v1/uploads/{id} returns.
 */
export function uploadFile(
  file: File,
  onProgress: (sent: number, total: number) => void,
): Promise<Upload> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', '/v1/uploads');
    const token = readToken();
    if (token) request.setRequestHeader('authorization', `Bearer ${token}`);
    request.responseType = 'json';
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    request.onload = () => {
      if (request.status === 201) resolve(request.response as Upload);
      else reject(failureFrom(request.status, request.response));
    };
    request.onerror = () =>
      reject(new ApiFailure(0, 'network', 'The upload was interrupted: the API is unreachable.'));
    const form = new FormData();
    form.append('file', file, file.name);
    request.send(form);
  });
}

/** Saves the scored CSV. The request needs the bearer header, so a plain link cannot do it. */
export async function downloadResults(predictionId: string): Promise<void> {
  const response = await api.GET('/v1/predictions/{id}/results.csv', {
    params: { path: { id: predictionId } },
    parseAs: 'blob',
  });
  save(response, 'scored.csv');
}

/** Saves the customers a view shows (its filters and order), every page of them, as CSV. */
export async function downloadView(
  predictionId: string,
  view: NonNullable<paths['/v1/predictions/{id}/rows.csv']['get']['parameters']['query']>,
): Promise<void> {
  const response = await api.GET('/v1/predictions/{id}/rows.csv', {
    params: { path: { id: predictionId }, query: view },
    parseAs: 'blob',
  });
  save(response, 'customers.csv');
}

/** Saves a model's example file: the columns it reads and three made-up customers. */
export async function downloadTemplate(modelId: string): Promise<void> {
  const response = await api.GET('/v1/models/{id}/template.csv', {
    params: { path: { id: modelId } },
    parseAs: 'blob',
  });
  save(response, 'template.csv');
}

function save(response: { data?: unknown; error?: unknown; response: Response }, name: string) {
  if (!response.response.ok) throw failureFrom(response.response.status, response.error);
  const disposition = response.response.headers.get('content-disposition') ?? '';
  const named =
    /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1] ??
    /filename="([^"]+)"/i.exec(disposition)?.[1];
  const link = document.createElement('a');
  link.href = URL.createObjectURL(response.data as Blob);
  link.download = named ? decodeURIComponent(named) : name;
  document.body.append(link);
  link.click();
  link.remove();
  // Long enough for the browser to start the download from the object URL.
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

/** The message of anything thrown by an API call, for showing. */
export function messageOf(error: unknown): string {
  return error instanceof ApiFailure ? error.message : String(error);
}

/** Anything thrown by an API call, as an ApiFailure. */
export function asFailure(error: unknown): ApiFailure {
  return error instanceof ApiFailure ? error : new ApiFailure(0, 'client', String(error));
}
