/**
 * The age of the oldest message of an SQS queue, from the CloudWatch metric
 * AWS/SQS ApproximateAgeOfOldestMessage: SQS itself has no queue attribute for it. Loaded only
 * when SQS_OLDEST_AGE_SOURCE=cloudwatch, so other setups never load the CloudWatch client.
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { type AwsClientOptions, sdkClientConfig } from '../aws/client-options.js';
import type { OldestMessageAgeReader } from './sqs-depth.js';

export interface CloudWatchOldestAgeOptions extends AwsClientOptions {
  /**
   * How long one answer is reused. SQS publishes the metric once a minute, so asking more often
   * only costs GetMetricData requests; default 60 s.
   */
  readonly cacheSeconds?: number;
  /**
   * The newest data point counts only when it is at most this old; default 5 minutes (SQS
   * publishes every minute, and CloudWatch shows a point a minute or two late). An older one
   * describes a queue that may have drained since, so the age is reported as unknown instead.
   */
  readonly maxStalenessSeconds?: number;
  /** For tests: the clock. */
  readonly now?: () => number;
}

const REQUEST_TIMEOUT_MS = 10_000;

export interface CloudWatchOldestAge {
  readonly read: OldestMessageAgeReader;
  close(): void;
}

/**
 * A reader for SqsJobQueue's `oldestMessageAge`. It answers the latest one-minute Maximum of the
 * metric (null when CloudWatch has no data point of the last few minutes, as for a queue idle
 * until just now) and throws when CloudWatch refuses or cannot be reached, which stats() reports
 * as an unknown age with that reason rather than failing.
 */
export function cloudWatchOldestAge(options: CloudWatchOldestAgeOptions = {}): CloudWatchOldestAge {
  const client = new CloudWatchClient(sdkClientConfig(options, REQUEST_TIMEOUT_MS));
  const cacheMs = (options.cacheSeconds ?? 60) * 1000;
  const stalenessMs = (options.maxStalenessSeconds ?? 300) * 1000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; age: Promise<number | null> }>();

  const fetchAge = async (queueName: string): Promise<number | null> => {
    const end = now();
    const output = await client.send(
      new GetMetricDataCommand({
        StartTime: new Date(end - stalenessMs),
        EndTime: new Date(end),
        ScanBy: 'TimestampDescending',
        MetricDataQueries: [
          {
            Id: 'oldest',
            MetricStat: {
              Metric: {
                Namespace: 'AWS/SQS',
                MetricName: 'ApproximateAgeOfOldestMessage',
                Dimensions: [{ Name: 'QueueName', Value: queueName }],
              },
              Period: 60,
              Stat: 'Maximum',
            },
          },
        ],
      }),
    );
    const result = output.MetricDataResults?.find((r) => r.Id === 'oldest');
    const points = (result?.Timestamps ?? []).map((timestamp, i) => ({
      at: timestamp.getTime(),
      value: result?.Values?.[i],
    }));
    // ScanBy asks for newest first, but the order is not a promise worth trusting blindly, nor
    // that the server kept to the window.
    const latest = points
      .filter(
        (p): p is { at: number; value: number } =>
          typeof p.value === 'number' && p.at >= end - stalenessMs,
      )
      .sort((a, b) => b.at - a.at)[0];
    return latest ? latest.value : null;
  };

  return {
    read: ({ url }) => {
      // CloudWatch names the queue as SQS does (the URL's last segment), which need not be the
      // QUEUE_NAME used for our own logs and metrics.
      const queueName = new URL(url).pathname.split('/').filter(Boolean).pop() ?? '';
      const cached = cache.get(queueName);
      if (cached && now() - cached.at < cacheMs) return cached.age;
      const age = fetchAge(queueName);
      cache.set(queueName, { at: now(), age });
      // A failure is not cached: the next stats() asks again.
      age.catch(() => cache.delete(queueName));
      return age;
    },
    close: () => client.destroy(),
  };
}
