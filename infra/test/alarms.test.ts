import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, synthesize } from './test-support/synth.js';

let s: Synthesized;
let topicId: string;

beforeAll(() => {
  s = synthesize('staging', { alarmEmail: 'oncall@churnline.dev' });
  topicId = s.logicalId(s.stack.alarms.topic);
});

const alarm = (construct: Parameters<Synthesized['logicalId']>[0]) =>
  s.template.toJSON().Resources[s.logicalId(construct)].Properties;

describe('alarms', () => {
  it('fires when more than 5 messages are visible in the dead-letter queue', () => {
    expect(alarm(s.stack.alarms.deadLetterDepth)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: {
            'Fn::GetAtt': [s.logicalId(s.stack.queues.deadLetterQueue), 'QueueName'],
          },
        },
      ],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 5,
      EvaluationPeriods: 1,
    });
  });

  it('fires when the oldest queued job is older than 1800 s', () => {
    expect(alarm(s.stack.alarms.oldestMessageAge)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [s.logicalId(s.stack.queues.queue), 'QueueName'] },
        },
      ],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 1800,
    });
  });

  it('fires when more than 100 jobs wait in the outbox for 5 minutes (as ALARM_OUTBOX_PENDING)', () => {
    expect(alarm(s.stack.alarms.outboxBacklog)).toMatchObject({
      Namespace: 'Churnline',
      MetricName: 'OutboxPending',
      Dimensions: [{ Name: 'Environment', Value: 'staging' }],
      Statistic: 'Minimum',
      Period: 300,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 100,
      TreatMissingData: 'notBreaching',
    });
  });

  it('notify one SNS topic on alarm and on recovery', () => {
    for (const construct of [
      s.stack.alarms.deadLetterDepth,
      s.stack.alarms.oldestMessageAge,
      s.stack.alarms.outboxBacklog,
    ]) {
      expect(alarm(construct).AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm(construct).OKActions).toEqual([{ Ref: topicId }]);
    }
  });

  it('publish to a topic that only accepts TLS and emails the given address', () => {
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Deny',
            Action: 'sns:Publish',
            Principal: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: { Ref: topicId },
            Sid: 'AllowPublishThroughSSLOnly',
          },
        ],
      },
    });
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@churnline.dev',
      TopicArn: { Ref: topicId },
    });
  });
});
