/**
 * A multipart upload whose body the test sends piece by piece (chunked, no length), so that a
 * test can act while the API is mid-upload: look at what it has stored, kill it, or finish.
 */
import { request } from 'node:http';

export interface SlowUpload {
  /** Sends more of the file. */
  send(content: Buffer | string): void;
  /** Sends `rest` and the end of the form; the answer's status and JSON body. */
  finish(rest?: Buffer | string): Promise<{ status: number; body: unknown }>;
  /** Settles when the request ends either way (answered, or the connection dropped). */
  readonly settled: Promise<unknown>;
}

export function startSlowUpload(
  url: string,
  token: string,
  filename = 'customers.csv',
): SlowUpload {
  const boundary = `churnline-slow-${Date.now()}`;
  const req = request(`${url}/v1/uploads`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
    },
  });
  const answer = new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', reject);
      response.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, body: text === '' ? null : JSON.parse(text) });
      });
    });
  });
  req.write(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
      'Content-Type: text/csv\r\n\r\n',
  );
  return {
    send: (content) => {
      req.write(content);
    },
    finish(rest = '') {
      req.end(Buffer.concat([Buffer.from(rest), Buffer.from(`\r\n--${boundary}--\r\n`)]));
      return answer;
    },
    settled: answer.then(
      () => undefined,
      () => undefined,
    ),
  };
}

/** Polls `check` until it holds; fails saying `what` after `timeoutMs`. */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still not true after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
