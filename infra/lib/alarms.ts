import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmThresholds, type EnvironmentSettings, queueSettings } from './settings.js';

export interface AlarmsProps {
  readonly settings: EnvironmentSettings;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** Where to email alarms; without it, subscribe to the topic by hand or from chat tooling. */
  readonly alarmEmail?: string;
}

/** The namespace and name under which the service publishes its outbox backlog (EMF). */
export const outboxMetric = { namespace: 'Churnline', metricName: 'OutboxPending' } as const;

/**
 * The three alarms from the production design, all to one SNS topic, on alarm and on recovery.
 */
export class Alarms extends Construct {
  readonly topic: sns.Topic;
  readonly deadLetterDepth: cloudwatch.Alarm;
  readonly oldestMessageAge: cloudwatch.Alarm;
  readonly outboxBacklog: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const { settings } = props;

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `Churnline ${settings.name} alarms`,
      enforceSSL: true,
    });
    if (props.alarmEmail) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    this.deadLetterDepth = new cloudwatch.Alarm(this, 'DeadLetterDepth', {
      alarmDescription: `More than ${alarmThresholds.deadLetterDepth} prediction jobs are dead-lettered: they failed ${queueSettings.maxReceiveCount} receives or were rejected. Inspect with \`churnline dlq\`.`,
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: alarmThresholds.deadLetterDepth,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.oldestMessageAge = new cloudwatch.Alarm(this, 'OldestMessageAge', {
      alarmDescription: `A prediction job has waited more than ${alarmThresholds.oldestMessageAgeSeconds} s: workers are down, stuck, or at their maximum count.`,
      metric: props.queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: alarmThresholds.oldestMessageAgeSeconds,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // The smallest backlog seen over 5 minutes: above the threshold the whole time means the
    // relay to SQS is failing (SQS unreachable, or no right to send), not a passing burst.
    this.outboxBacklog = new cloudwatch.Alarm(this, 'OutboxBacklog', {
      alarmDescription: `More than ${alarmThresholds.outboxPending} prediction jobs have waited in the outbox for 5 minutes without reaching SQS: the relay is failing. Predictions stay queued until it recovers.`,
      metric: new cloudwatch.Metric({
        ...outboxMetric,
        dimensionsMap: { Environment: settings.name },
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MINIMUM,
      }),
      threshold: alarmThresholds.outboxPending,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No data means no service is running to publish it; the queue alarms cover that case.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    for (const alarm of [this.deadLetterDepth, this.oldestMessageAge, this.outboxBacklog]) {
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      alarm.addOkAction(new actions.SnsAction(this.topic));
    }
  }
}
