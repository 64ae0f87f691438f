/**
 * CloudWatch cannot run here, so these tests answer GetMetricData from a small HTTP server that
 * speaks the client's wire protocol (AWS JSON 1.0) and record what the client asked. The queue
 * itself is real (fauxqs).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createQueues } from '../../test/support/local-aws-resources.js';
import { openQueue } from '../app.js';
import { type LocalAws, startLocalAws } from '../aws/test-support/local-aws.js';
import { parseConfig } from '../config/index.js';
import { cloudWatchOldestAge } from './cloudwatch-oldest-age.js';

interface Recorded {
  target: string | undefined;
  body: {
    StartTime: number;
    EndTime: number;
    MetricDataQueries: Array<{
      Id: string;
      MetricStat: {
        Metric: {
          Namespace: string;
          MetricName: string;
          Dimensions: Array<{ Name: string; Value: string }>;
        };
        Period: number;
        Stat: string;
      };
    }>;
  };
}

type Answer = { status: number; body: unknown };

async function fakeCloudWatch(answer: (request: Recorded) => Answer) {
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Recorded = {
        target: req.headers['x-amz-target'] as string | undefined,
        body: JSON.parse(Buffer.concat(chunks).toString()),
      };
      requests.push(request);
      const { status, body } = answer(request);
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const datapoints = (points: Array<[seconds: number, value: number]>): Answer => ({
  status: 200,
  body: {
    MetricDataResults: [
      {
        Id: 'oldest',
        Label: 'ApproximateAgeOfOldestMessage',
        Timestamps: points.map(([at]) => at),
        Values: points.map(([, value]) => value),
        StatusCode: 'Complete',
      },
    ],
    Messages: [],
  },
});

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const queue = {
  name: 'predictions',
  url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/churnline-prod-predictions',
};
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('cloudWatchOldestAge', () => {
  async function reader(answer: (request: Recorded) => Answer, now = () => Date.now()) {
    const server = await fakeCloudWatch(answer);
    const source = cloudWatchOldestAge({
      endpoint: server.endpoint,
      region: 'eu-west-1',
      credentials,
      maxAttempts: 1,
      now,
    });
    cleanups.push(server.close, source.close);
    return { server, source };
  }

  it('asks for the one-minute Maximum of ApproximateAgeOfOldestMessage of the queue named in the URL, and answers the latest point', async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const { server, source } = await reader(() =>
      datapoints([
        [nowSeconds - 180, 400],
        [nowSeconds - 60, 512.7],
        [nowSeconds - 120, 450],
      ]),
    );
    expect(await source.read(queue)).toBe(512.7);
    const [request] = server.requests;
    expect(request!.target).toBe('GraniteServiceVersion20100801.GetMetricData');
    expect(request!.body.MetricDataQueries).toEqual([
      {
        Id: 'oldest',
        MetricStat: {
          Metric: {
            Namespace: 'AWS/SQS',
            MetricName: 'ApproximateAgeOfOldestMessage',
            Dimensions: [{ Name: 'QueueName', Value: 'churnline-prod-predictions' }],
          },
          Period: 60,
          Stat: 'Maximum',
        },
      },
    ]);
    expect(request!.body.EndTime - request!.body.StartTime).toBe(300);
  });

  it('treats a data point older than five minutes as none: the queue may have drained since', async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const { source } = await reader(() => datapoints([[nowSeconds - 600, 2_400]]));
    expect(await source.read(queue)).toBeNull();
  });

  it('answers null when CloudWatch has no data point in the window', async () => {
    const { source } = await reader(() => datapoints([]));
    expect(await source.read(queue)).toBeNull();
  });

  it('reuses an answer for a minute, then asks again', async () => {
    let clock = Date.now();
    let value = 10;
    const { server, source } = await reader(
      () => datapoints([[Math.floor(clock / 1000), value++]]),
      () => clock,
    );
    expect(await source.read(queue)).toBe(10);
    clock += 59_000;
    expect(await source.read(queue)).toBe(10);
    expect(server.requests).toHaveLength(1);
    clock += 2_000;
    expect(await source.read(queue)).toBe(11);
    expect(server.requests).toHaveLength(2);
  });

  it('rejects with CloudWatch’s message when it refuses, and does not keep the failure', async () => {
    let refuse = true;
    const { server, source } = await reader(() =>
      refuse
        ? {
            status: 400,
            body: {
              __type: 'com.amazonaws.cloudwatch#AccessDenied',
              message: 'User is not authorized to perform: cloudwatch:GetMetricData',
            },
          }
        : datapoints([[Math.floor(Date.now() / 1000), 42]]),
    );
    await expect(source.read(queue)).rejects.toThrow(
      /not authorized to perform: cloudwatch:GetMetricData/,
    );
    refuse = false;
    expect(await source.read(queue)).toBe(42);
    expect(server.requests).toHaveLength(2);
  });
});

describe('SQS queue stats with SQS_OLDEST_AGE_SOURCE=cloudwatch', () => {
  let aws: LocalAws;
  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(async () => {
    await aws.stop();
  });

  async function configuredQueue(answer: (request: Recorded) => Answer) {
    const cloudWatch = await fakeCloudWatch(answer);
    cleanups.push(cloudWatch.close);
    const queues = await createQueues(aws, { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    // The SDK's credential chain reads the process environment, as it would in production.
    vi.stubEnv('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey);
    cleanups.push(() => {
      vi.unstubAllEnvs();
    });
    const config = parseConfig({
      CHURNLINE_DATA_DIR: `/tmp/churnline-cw-${randomUUID()}`,
      QUEUE: 'sqs',
      SQS_QUEUE_URL: queues.queueUrl,
      SQS_DLQ_URL: queues.deadLetterQueueUrl,
      QUEUE_WAIT_TIME_S: '0',
      AWS_REGION: aws.region,
      AWS_ENDPOINT_URL_SQS: aws.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudWatch.endpoint,
      SQS_OLDEST_AGE_SOURCE: 'cloudwatch',
    });
    const opened = await openQueue(config);
    cleanups.push(() => opened.close());
    return { queue: opened, queues, cloudWatch };
  }

  it('reports the age CloudWatch holds for the queue', async () => {
    const {
      queue: opened,
      queues,
      cloudWatch,
    } = await configuredQueue(() => datapoints([[Math.floor(Date.now() / 1000) - 60, 1_234.5]]));
    await opened.send({ body: 'job' });
    expect(await opened.stats()).toMatchObject({ visible: 1, oldestAgeSeconds: 1234 });
    const asked = cloudWatch.requests[0]!.body.MetricDataQueries[0]!.MetricStat.Metric.Dimensions;
    expect(asked).toEqual([
      { Name: 'QueueName', Value: new URL(queues.queueUrl).pathname.split('/').pop() },
    ]);
  });

  it('still reports the depth, and why the age is unknown, when CloudWatch fails', async () => {
    const { queue: opened } = await configuredQueue(() => ({
      status: 400,
      body: {
        __type: 'AccessDenied',
        message: 'User is not authorized to perform: cloudwatch:GetMetricData',
      },
    }));
    await opened.send({ body: 'job' });
    const stats = await opened.stats();
    expect(stats).toMatchObject({ visible: 1, oldestAgeSeconds: null });
    expect(stats.oldestAgeUnknownReason).toMatch(
      /^Reading ApproximateAgeOfOldestMessage from CloudWatch failed: .*cloudwatch:GetMetricData/,
    );
  });

  it('is refused for queues other than SQS', () => {
    expect(() => parseConfig({ QUEUE: 'sqlite', SQS_OLDEST_AGE_SOURCE: 'cloudwatch' })).toThrow(
      /SQS_OLDEST_AGE_SOURCE=cloudwatch with QUEUE=sqlite/,
    );
  });
});
