/**
 * An SQS- and S3-compatible server (fauxqs, in this process) for the AWS adapters' tests: one per
 * test file, on a random loopback port, stopped in afterAll so no socket or timer outlives it.
 */
import { buildApp } from 'fauxqs';

export interface LocalAws {
  /** e.g. http://127.0.0.1:41234 */
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

export async function startLocalAws(): Promise<LocalAws> {
  // buildApp rather than startFauxqs: the latter listens on every interface, not loopback only.
  const app = buildApp({ logger: false, host: 'localhost' });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    endpoint: address,
    region: 'us-east-1',
    // The server accepts any credentials; fixed ones keep the SDK off the credential chain.
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    stop: () => app.close(),
  };
}
