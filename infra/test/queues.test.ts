import { beforeAll, describe, expect, it } from 'vitest';
import {
  actionsOf,
  allStatements,
  roleStatements,
  type Statement,
  type Synthesized,
  synthesize,
} from './test-support/synth.js';

let s: Synthesized;
let queueId: string;
let dlqId: string;
let apiRoleId: string;
let workerRoleId: string;
let bucketId: string;

beforeAll(() => {
  s = synthesize('staging');
  queueId = s.logicalId(s.stack.queues.queue);
  dlqId = s.logicalId(s.stack.queues.deadLetterQueue);
  apiRoleId = s.logicalId(s.stack.apiRole);
  workerRoleId = s.logicalId(s.stack.workerRole);
  bucketId = s.logicalId(s.stack.storage.bucket);
});

const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

function queuePolicyStatements(queueLogicalId: string): Statement[] {
  const policies = s.template.findResources('AWS::SQS::QueuePolicy', {
    Properties: { Queues: [{ Ref: queueLogicalId }] },
  });
  expect(Object.keys(policies)).toHaveLength(1);
  return Object.values(policies)[0]?.Properties.PolicyDocument.Statement as Statement[];
}

describe('the predictions queue', () => {
  it('has the production design settings and SQS-managed encryption', () => {
    expect(s.template.toJSON().Resources[queueId].Properties).toEqual({
      QueueName: 'churnline-staging-predictions',
      VisibilityTimeout: 300,
      ReceiveMessageWaitTimeSeconds: 20,
      MessageRetentionPeriod: 345_600,
      MaximumMessageSize: 262_144,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: arn(dlqId), maxReceiveCount: 3 },
    });
  });

  it('dead-letters into a 14-day, encrypted queue that has no redrive of its own', () => {
    expect(s.template.toJSON().Resources[dlqId].Properties).toEqual({
      QueueName: 'churnline-staging-predictions-dlq',
      MessageRetentionPeriod: 1_209_600,
      MaximumMessageSize: 262_144,
      SqsManagedSseEnabled: true,
    });
  });
});

describe('queue policies', () => {
  it.each([
    ['main', () => queueId],
    ['dead-letter', () => dlqId],
  ])('deny every request without TLS on the %s queue', (_name, id) => {
    expect(queuePolicyStatements(id())).toContainEqual({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sqs:*',
      Resource: arn(id()),
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
  });

  it('allow only the two task roles, each exactly its actions', () => {
    const allows = [...queuePolicyStatements(queueId), ...queuePolicyStatements(dlqId)].filter(
      (statement) => statement.Effect === 'Allow',
    );
    expect(allows).toEqual([
      {
        Sid: 'ApiPublishesJobs',
        Effect: 'Allow',
        Principal: { AWS: arn(apiRoleId) },
        Action: ['sqs:SendMessage', 'sqs:GetQueueUrl'],
        Resource: arn(queueId),
      },
      {
        Sid: 'WorkerConsumesJobs',
        Effect: 'Allow',
        Principal: { AWS: arn(workerRoleId) },
        Action: [
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueAttributes',
        ],
        Resource: arn(queueId),
      },
      {
        Sid: 'WorkerDeadLettersRejectedMessages',
        Effect: 'Allow',
        Principal: { AWS: arn(workerRoleId) },
        Action: ['sqs:SendMessage', 'sqs:ReceiveMessage'],
        Resource: arn(dlqId),
      },
    ]);
  });
});

describe('task role permissions (least privilege)', () => {
  const objects = () => ({
    'Fn::Join': ['', [arn(bucketId), '/churnline/*']],
  });

  it('lets the API role only publish to the main queue and read/write the prefix', () => {
    expect(roleStatements(s.template, apiRoleId)).toEqual([
      {
        Sid: 'ReadWriteChurnlineObjects',
        Effect: 'Allow',
        Action: [
          's3:GetObject',
          's3:PutObject',
          's3:PutObjectTagging',
          's3:DeleteObject',
          's3:AbortMultipartUpload',
        ],
        Resource: objects(),
      },
      {
        Sid: 'ApiPublishesJobs',
        Effect: 'Allow',
        Action: ['sqs:SendMessage', 'sqs:GetQueueUrl'],
        Resource: arn(queueId),
      },
    ]);
  });

  it('lets the worker role only consume the main queue, dead-letter, and read/write the prefix', () => {
    expect(roleStatements(s.template, workerRoleId)).toEqual([
      {
        Sid: 'ReadWriteChurnlineObjects',
        Effect: 'Allow',
        Action: [
          's3:GetObject',
          's3:PutObject',
          's3:PutObjectTagging',
          's3:DeleteObject',
          's3:AbortMultipartUpload',
        ],
        Resource: objects(),
      },
      {
        Sid: 'WorkerConsumesJobs',
        Effect: 'Allow',
        Action: [
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueAttributes',
        ],
        Resource: arn(queueId),
      },
      {
        Sid: 'WorkerDeadLettersRejectedMessages',
        Effect: 'Allow',
        Action: ['sqs:SendMessage', 'sqs:ReceiveMessage'],
        Resource: arn(dlqId),
      },
      {
        Sid: 'WorkerReadsQueueAgeMetric',
        Effect: 'Allow',
        Action: 'cloudwatch:GetMetricData',
        Resource: '*',
      },
    ]);
  });

  it('attaches no managed policies and no inline policies to the task roles', () => {
    for (const id of [apiRoleId, workerRoleId]) {
      const role = s.template.toJSON().Resources[id];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
    }
  });

  it('lets only ECS tasks of this account and region assume the task roles', () => {
    for (const id of [apiRoleId, workerRoleId]) {
      expect(s.template.toJSON().Resources[id].Properties.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'ecs-tasks.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      ':ecs:us-east-1:',
                      { Ref: 'AWS::AccountId' },
                      ':*',
                    ],
                  ],
                },
              },
            },
          },
        ],
      });
    }
  });

  it('grants no purge, no delete-queue and no wildcard action anywhere in the template', () => {
    const allowed = allStatements(s.template)
      .filter((statement) => statement.Effect === 'Allow')
      .flatMap(actionsOf);
    expect(allowed.length).toBeGreaterThan(10);
    expect(allowed).not.toContain('sqs:PurgeQueue');
    expect(allowed).not.toContain('sqs:DeleteQueue');
    expect(allowed.filter((action) => action.includes('*'))).toEqual([]);
    // Wildcards appear only in the TLS guards, which deny.
    const wildcards = allStatements(s.template).filter((statement) =>
      actionsOf(statement).some((action) => action.includes('*')),
    );
    expect(wildcards.map((statement) => statement.Effect)).toEqual(wildcards.map(() => 'Deny'));
  });
});
