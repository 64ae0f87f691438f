/**
 * A recording HTTP proxy in front of the S3-compatible test server. It shows what the adapter
 * really sent (the encryption and tagging headers of each write) and which multipart uploads were started and
 * never completed or aborted: the parts a failed put would leave behind to be billed on S3.
 * (fauxqs 1.9.2 has no ListMultipartUploads, so this cannot be asked of the server.)
 */
import { Agent, createServer, type IncomingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedWrite {
  /** `PutObject` or `CreateMultipartUpload`: the requests that decide how an object is stored. */
  readonly action: 'PutObject' | 'CreateMultipartUpload';
  readonly path: string;
  readonly serverSideEncryption: string | undefined;
  readonly kmsKeyId: string | undefined;
  /** The x-amz-tagging header: tags stored with the object. */
  readonly tagging: string | undefined;
}

export interface S3Traffic {
  /** Point the store here, with forcePathStyle. */
  readonly endpoint: string;
  readonly writes: RecordedWrite[];
  /** Multipart uploads under `/<bucket>/` started and neither completed nor aborted. */
  openUploads(bucket: string): string[];
  stop(): Promise<void>;
}

const header = (headers: IncomingHttpHeaders, name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

export async function startS3Traffic(upstream: string): Promise<S3Traffic> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const writes: RecordedWrite[] = [];
  /** uploadId → path, for uploads started and not yet finished. */
  const open = new Map<string, string>();

  const server = createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    const params = url.searchParams;
    const isCreate = incoming.method === 'POST' && params.has('uploads');
    const finishes =
      (incoming.method === 'POST' || incoming.method === 'DELETE') && params.has('uploadId');
    const isPut =
      incoming.method === 'PUT' && !params.has('partNumber') && url.pathname.split('/').length > 2;
    if (isCreate || isPut) {
      writes.push({
        action: isCreate ? 'CreateMultipartUpload' : 'PutObject',
        path: url.pathname,
        serverSideEncryption: header(incoming.headers, 'x-amz-server-side-encryption'),
        kmsKeyId: header(incoming.headers, 'x-amz-server-side-encryption-aws-kms-key-id'),
        tagging: header(incoming.headers, 'x-amz-tagging'),
      });
    }
    const forwarded = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        const body: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => {
          if (isCreate) body.push(chunk);
          outgoing.write(chunk);
        });
        answer.on('end', () => {
          const ok = (answer.statusCode ?? 500) < 300;
          if (ok && isCreate) {
            const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(Buffer.concat(body).toString());
            if (uploadId?.[1]) open.set(uploadId[1], url.pathname);
          }
          if (ok && finishes) open.delete(params.get('uploadId') ?? '');
          outgoing.end();
        });
      },
    );
    forwarded.on('error', (error) => outgoing.destroy(error));
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    writes,
    openUploads: (bucket) =>
      [...open.entries()]
        .filter(([, path]) => path.startsWith(`/${bucket}/`))
        .map(([uploadId, path]) => `${path} (upload ${uploadId})`),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
