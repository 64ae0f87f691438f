import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type EnvironmentSettings, queueSettings } from './settings.js';

export interface JobQueuesProps {
  readonly settings: EnvironmentSettings;
  /** The API task role: publishes prediction jobs (through the outbox relay). */
  readonly apiRole: iam.IRole;
  /** The worker task role: consumes jobs, and dead-letters messages it rejects. */
  readonly workerRole: iam.IRole;
}

/**
 * The predictions queue and its dead-letter queue, with the production design's settings,
 * and the exact SQS rights of each task role. Nobody gets PurgeQueue or DeleteQueue: a purge
 * would silently drop customers' jobs, and the queues' lifecycle belongs to CloudFormation.
 */
export class JobQueues extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  static readonly apiActions = ['sqs:SendMessage', 'sqs:GetQueueUrl'];
  static readonly workerActions = [
    'sqs:ReceiveMessage',
    'sqs:DeleteMessage',
    'sqs:ChangeMessageVisibility',
    'sqs:GetQueueAttributes',
  ];
  /**
   * SendMessage dead-letters rejected jobs; ReceiveMessage lets workers read dead letters (with a
   * zero visibility timeout) to fail predictions whose job the queue dead-lettered.
   */
  static readonly workerDeadLetterActions = ['sqs:SendMessage', 'sqs:ReceiveMessage'];

  constructor(scope: Construct, id: string, props: JobQueuesProps) {
    super(scope, id);
    const { settings, apiRole, workerRole } = props;
    // Messages are transient; deleting the stack may delete them, except in production where
    // a stack replacement must not lose queued jobs.
    const removalPolicy = settings.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `churnline-${settings.name}-predictions-dlq`,
      retentionPeriod: Duration.seconds(queueSettings.deadLetterRetentionSeconds),
      maxMessageSizeBytes: queueSettings.maxMessageBytes,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy,
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: `churnline-${settings.name}-predictions`,
      visibilityTimeout: Duration.seconds(queueSettings.visibilityTimeoutSeconds),
      receiveMessageWaitTime: Duration.seconds(queueSettings.receiveWaitTimeSeconds),
      retentionPeriod: Duration.seconds(queueSettings.messageRetentionSeconds),
      maxMessageSizeBytes: queueSettings.maxMessageBytes,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        maxReceiveCount: queueSettings.maxReceiveCount,
      },
      removalPolicy,
    });

    // The same statements go on the roles (identity policy) and on the queues (resource
    // policy), so the queue policies name exactly the two task roles and nobody else.
    this.allow(apiRole, this.queue, JobQueues.apiActions, 'ApiPublishesJobs');
    this.allow(workerRole, this.queue, JobQueues.workerActions, 'WorkerConsumesJobs');
    this.allow(
      workerRole,
      this.deadLetterQueue,
      JobQueues.workerDeadLetterActions,
      'WorkerDeadLettersRejectedMessages',
    );
    // The workers' monitor reads the queue's ApproximateAgeOfOldestMessage (SQS has no attribute
    // for it). GetMetricData supports no resource scoping and reads metrics only.
    workerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WorkerReadsQueueAgeMetric',
        actions: ['cloudwatch:GetMetricData'],
        resources: ['*'],
      }),
    );
    Validations.of(workerRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:GetMetricData supports no resource-level permissions; the worker reads the queue age metric with it and can write nothing.',
    });
  }

  private allow(role: iam.IRole, queue: sqs.Queue, actions: string[], sid: string): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid, actions, resources: [queue.queueArn] }),
    );
    queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        actions,
        principals: [new iam.ArnPrincipal(role.roleArn)],
        resources: [queue.queueArn],
      }),
    );
  }
}
