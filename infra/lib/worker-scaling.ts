import { Duration } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface WorkerScalingProps {
  readonly service: ecs.FargateService;
  readonly cluster: ecs.ICluster;
  readonly queue: sqs.IQueue;
  readonly maxTasks: number;
}

/**
 * Scales the worker service on backlog per running task, down to zero tasks when the queue
 * has been idle for a while.
 *
 * Target tracking cannot do this: it multiplies the current capacity, so it never leaves zero,
 * and a per-task metric is undefined when no task runs. So two step-scaling policies read
 * metric math instead, where "per task" falls back to the whole backlog when nothing runs:
 *
 * - out: messages waiting (visible) per running task >= 1 means every task is busy and more
 *   work waits; add half again (at least one task, so the first message starts a worker);
 *   >= 10 per task doubles.
 * - in: messages waiting or being worked (visible + in flight) per task <= 0.5 for 15 minutes
 *   means half the tasks idle: remove a quarter (at least one); nothing at all: go to zero.
 */
export class WorkerScaling extends Construct {
  static readonly scaleOutExpression =
    'IF(FILL(running, 0) > 0, visible / FILL(running, 0), visible)';
  static readonly scaleInExpression =
    'IF(FILL(running, 0) > 0, (visible + inFlight) / FILL(running, 0), 1)';

  constructor(scope: Construct, id: string, props: WorkerScalingProps) {
    super(scope, id);
    const period = Duration.minutes(1);
    const visible = props.queue.metricApproximateNumberOfMessagesVisible({
      period,
      statistic: cloudwatch.Stats.MAXIMUM,
    });
    const inFlight = props.queue.metricApproximateNumberOfMessagesNotVisible({
      period,
      statistic: cloudwatch.Stats.MAXIMUM,
    });
    const running = new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: {
        ClusterName: props.cluster.clusterName,
        ServiceName: props.service.serviceName,
      },
      period,
      statistic: cloudwatch.Stats.AVERAGE,
    });

    const capacity = props.service.autoScaleTaskCount({
      minCapacity: 0,
      maxCapacity: props.maxTasks,
    });

    capacity.scaleOnMetric('ScaleOutOnBacklogPerTask', {
      metric: new cloudwatch.MathExpression({
        label: 'Visible messages per running worker',
        expression: WorkerScaling.scaleOutExpression,
        usingMetrics: { visible, running },
        period,
      }),
      adjustmentType: appscaling.AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
      minAdjustmentMagnitude: 1,
      scalingSteps: [
        { lower: 1, change: 50 },
        { lower: 10, change: 100 },
      ],
      evaluationPeriods: 1,
      cooldown: Duration.seconds(120),
    });

    capacity.scaleOnMetric('ScaleInWhenIdle', {
      metric: new cloudwatch.MathExpression({
        label: 'Queued and in-flight messages per running worker',
        expression: WorkerScaling.scaleInExpression,
        usingMetrics: { visible, inFlight, running },
        period,
      }),
      adjustmentType: appscaling.AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
      minAdjustmentMagnitude: 1,
      scalingSteps: [
        { upper: 0, change: -100 },
        { lower: 0, upper: 0.5, change: -25 },
      ],
      // Scale in slowly: a job that arrives a minute after the queue drained should find a
      // warm worker rather than wait for a cold start.
      evaluationPeriods: 15,
      datapointsToAlarm: 15,
      cooldown: Duration.seconds(300),
    });
  }
}
