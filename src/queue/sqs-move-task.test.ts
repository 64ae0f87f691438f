/**
 * redriveDeadLetters() through StartMessageMoveTask. No SQS-compatible server here implements
 * move tasks (fauxqs 1.9.2 answers InvalidAction, which the contract run covers as the fallback),
 * so this stands in for Amazon SQS with a stub that answers the three calls in SQS's JSON
 * protocol and records what the adapter asked.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SqsJobQueue } from './sqs.js';

const DLQ_ARN = 'arn:aws:sqs:us-east-1:000000000000:predictions-dlq';
const SOURCE_ARN = 'arn:aws:sqs:us-east-1:000000000000:predictions';

interface StubCall {
  readonly action: string;
  readonly input: Record<string, unknown>;
}

async function startSqsStub(
  answer: (action: string, input: Record<string, unknown>) => unknown,
): Promise<{ endpoint: string; calls: StubCall[]; server: Server }> {
  const calls: StubCall[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const action = String(request.headers['x-amz-target'] ?? '').replace('AmazonSQS.', '');
      const input = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
      calls.push({ action, input });
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(answer(action, input)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, calls, server };
}

describe('SqsJobQueue redrive with StartMessageMoveTask', () => {
  const servers: Server[] = [];
  const queues: SqsJobQueue[] = [];
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((queue) => queue.close()));
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function queueAgainst(statuses: Array<Record<string, unknown>>) {
    let listed = 0;
    const stub = await startSqsStub((action, input) => {
      if (action === 'GetQueueAttributes') {
        const url = String(input.QueueUrl);
        return { Attributes: { QueueArn: url.endsWith('-dlq') ? DLQ_ARN : SOURCE_ARN } };
      }
      if (action === 'StartMessageMoveTask') return { TaskHandle: 'task-1' };
      if (action === 'ListMessageMoveTasks') {
        const status = statuses[Math.min(listed++, statuses.length - 1)];
        return { Results: [{ TaskHandle: 'task-1', SourceArn: DLQ_ARN, ...status }] };
      }
      throw new Error(`unexpected ${action}`);
    });
    servers.push(stub.server);
    const queue = new SqsJobQueue({
      queueUrl: `${stub.endpoint}/000000000000/predictions`,
      deadLetterQueueUrl: `${stub.endpoint}/000000000000/predictions-dlq`,
      endpoint: stub.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      moveTaskPollIntervalMs: 10,
    });
    queues.push(queue);
    return { queue, calls: stub.calls };
  }

  it('starts one task from the dead-letter queue and reports what it moved once it completes', async () => {
    const { queue, calls } = await queueAgainst([
      { Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 3 },
      { Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 7 },
    ]);
    expect(await queue.redriveDeadLetters()).toEqual({ moved: 7 });
    const start = calls.find((call) => call.action === 'StartMessageMoveTask');
    // The destination is explicit: SQS cannot tell where a message sent by moveToDeadLetter came from.
    expect(start?.input).toEqual({ SourceArn: DLQ_ARN, DestinationArn: SOURCE_ARN });
    expect(calls.filter((call) => call.action === 'ListMessageMoveTasks')).toHaveLength(2);
  });

  it('reports a failed task as a retryable QueueError with its reason', async () => {
    const { queue } = await queueAgainst([
      { Status: 'FAILED', FailureReason: 'AWS.SimpleQueueService.NonExistentQueue' },
    ]);
    await expect(queue.redriveDeadLetters()).rejects.toMatchObject({
      code: 'MoveTaskFailed',
      retryable: true,
      message: expect.stringContaining('NonExistentQueue'),
    });
  });
});
