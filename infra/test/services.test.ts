import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { WorkerScaling } from '../lib/worker-scaling.js';
import { fixture, type Synthesized, synthesize } from './test-support/synth.js';

let staging: Synthesized;
let prod: Synthesized;

beforeAll(() => {
  staging = synthesize('staging');
  prod = synthesize('prod');
});

const resource = (s: Synthesized, construct: Parameters<Synthesized['logicalId']>[0]) =>
  // Template JSON is untyped by nature; each test states the shape it expects.
  s.template.toJSON().Resources[s.logicalId(construct)];
const container = (s: Synthesized, service: 'apiService' | 'workerService') =>
  resource(s, s.stack.services[service].taskDefinition).Properties.ContainerDefinitions[0];

describe('the API service behind a load balancer', () => {
  it('is an internet-facing ALB with a 120 s idle timeout', () => {
    const lb = resource(staging, staging.stack.services.loadBalancer).Properties;
    expect(lb.Scheme).toBe('internet-facing');
    expect(lb.LoadBalancerAttributes).toEqual(
      expect.arrayContaining([
        { Key: 'idle_timeout.timeout_seconds', Value: '120' },
        { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
        { Key: 'access_logs.s3.enabled', Value: 'true' },
      ]),
    );
  });

  it('drains targets for 30 s and checks readiness at /readyz', () => {
    const group = resource(staging, staging.stack.services.targetGroup).Properties;
    expect(group).toMatchObject({
      TargetType: 'ip',
      Port: 8080,
      Protocol: 'HTTP',
      HealthCheckPath: '/readyz',
      TargetGroupAttributes: expect.arrayContaining([
        { Key: 'deregistration_delay.timeout_seconds', Value: '30' },
      ]),
    });
  });

  it('runs `churnline serve --roles api` on Fargate in private subnets without public IPs', () => {
    const service = resource(staging, staging.stack.services.apiService).Properties;
    expect(service).toMatchObject({
      LaunchType: 'FARGATE',
      DesiredCount: 1,
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'DISABLED' } },
      DeploymentConfiguration: {
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      },
      LoadBalancers: [{ ContainerName: 'api', ContainerPort: 8080 }],
    });
    expect(container(staging, 'apiService').Command).toEqual(['serve', '--roles', 'api']);
    expect(resource(prod, prod.stack.services.apiService).Properties.DesiredCount).toBe(2);
  });

  it('serves HTTPS with the given certificate and redirects HTTP in prod', () => {
    prod.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: fixture.certificateArn }],
    });
    prod.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [Match.objectLike({ Type: 'redirect' })],
    });
  });

  it('refuses to build prod without a certificate', () => {
    expect(() => synthesize('prod', { https: false })).toThrow(/prod needs HTTPS/);
  });
});

describe('both roles from one image', () => {
  it('run the same image tag from the prerequisites stack', () => {
    const images = [container(staging, 'apiService'), container(staging, 'workerService')].map(
      (c) => JSON.stringify(c.Image),
    );
    expect(images[0]).toBe(images[1]);
    expect(images[0]).toContain(`:${fixture.imageTag}`);
    expect(container(staging, 'workerService').Command).toEqual(['worker']);
  });

  it('get the scale-out configuration and their secrets from Secrets Manager', () => {
    const names = (c: { Environment: { Name: string }[] }) => c.Environment.map((e) => e.Name);
    const common = [
      'QUEUE',
      'SQS_QUEUE_URL',
      'SQS_DLQ_URL',
      'BLOBS',
      'S3_BUCKET',
      'S3_PREFIX',
      'AWS_REGION',
      'DATABASE_URL',
      'CHURNLINE_ENVIRONMENT',
    ];
    expect(names(container(staging, 'workerService'))).toEqual(expect.arrayContaining(common));
    expect(names(container(staging, 'apiService'))).toEqual(
      expect.arrayContaining([...common, 'AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE']),
    );
    const api = container(staging, 'apiService');
    const value = (name: string) =>
      api.Environment.find((e: { Name: string }) => e.Name === name).Value;
    expect(value('QUEUE')).toBe('sqs');
    expect(value('BLOBS')).toBe('s3');
    expect(value('S3_PREFIX')).toBe('churnline/');
    expect(value('HOST')).toBe('0.0.0.0');
    expect(value('AUTH_ISSUER')).toEqual({ Ref: 'AuthIssuer' });
    expect(JSON.stringify(value('DATABASE_URL'))).toMatch(/postgres:\/\/.*sslmode=verify-full/);
    // The process drains within its deadline, before ECS's SIGKILL.
    const worker = container(staging, 'workerService');
    const deadline = (c: typeof api) =>
      Number(c.Environment.find((e: { Name: string }) => e.Name === 'SHUTDOWN_DEADLINE_S').Value);
    expect(deadline(api)).toBeLessThan(api.StopTimeout);
    expect(deadline(worker)).toBeLessThan(worker.StopTimeout);
    expect(worker.StopTimeout).toBeLessThanOrEqual(120);
    for (const c of [api, container(staging, 'workerService')]) {
      expect(c.Secrets.map((secret: { Name: string }) => secret.Name)).toEqual([
        'PGUSER',
        'PGPASSWORD',
        'JOB_SIGNING_KEYS',
      ]);
      // No credential in the plain environment.
      expect(JSON.stringify(c.Environment)).not.toMatch(/password|resolve:secretsmanager/i);
    }
  });

  it('read the job signing keys by their full ARN, which ECS needs to authorize the read', () => {
    const signingKeys = container(staging, 'apiService').Secrets.find(
      (secret: { Name: string }) => secret.Name === 'JOB_SIGNING_KEYS',
    );
    // A partial ARN (from a secret name) fails at task start with AccessDenied.
    expect(JSON.stringify(signingKeys.ValueFrom)).toContain('Fn::ImportValue');
    expect(JSON.stringify(signingKeys.ValueFrom)).toContain('JobSigningKeys');
  });

  it('give each task its own role', () => {
    const taskRole = (service: 'apiService' | 'workerService') =>
      resource(staging, staging.stack.services[service].taskDefinition).Properties.TaskRoleArn;
    expect(taskRole('apiService')).toEqual({
      'Fn::GetAtt': [staging.logicalId(staging.stack.apiRole), 'Arn'],
    });
    expect(taskRole('workerService')).toEqual({
      'Fn::GetAtt': [staging.logicalId(staging.stack.workerRole), 'Arn'],
    });
  });
});

describe('the worker service', () => {
  const scalingPolicies = (s: Synthesized) =>
    Object.values(s.template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy')).map(
      (p) => p.Properties,
    );
  const alarmFor = (s: Synthesized, expression: string) =>
    Object.values(s.template.findResources('AWS::CloudWatch::Alarm')).find((alarm) =>
      (alarm.Properties.Metrics ?? []).some(
        (m: { Expression?: string }) => m.Expression === expression,
      ),
    )?.Properties;

  it('has no fixed desired count and may scale from zero to the environment maximum', () => {
    const service = resource(staging, staging.stack.services.workerService).Properties;
    expect(service.DesiredCount).toBeUndefined();
    expect(service.LaunchType).toBe('FARGATE');
    staging.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 0,
      MaxCapacity: 2,
      ResourceId: Match.objectLike({
        'Fn::Join': Match.arrayWith([
          Match.arrayWith([
            Match.objectLike({
              'Fn::GetAtt': [staging.logicalId(staging.stack.services.workerService), 'Name'],
            }),
          ]),
        ]),
      }),
    });
    prod.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 0,
      MaxCapacity: 10,
    });
  });

  it('scales out on visible messages per running task, starting a first task from zero', () => {
    const alarm = alarmFor(staging, WorkerScaling.scaleOutExpression);
    expect(alarm).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
    });
    const metrics = alarm!.Metrics as { Id: string; MetricStat: { Metric: unknown } }[];
    const stat = (id: string) => metrics.find((m) => m.Id === id)!.MetricStat.Metric;
    expect(stat('visible')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [staging.logicalId(staging.stack.queues.queue), 'QueueName'] },
        },
      ],
    });
    expect(stat('running')).toMatchObject({
      Namespace: 'ECS/ContainerInsights',
      MetricName: 'RunningTaskCount',
    });
    const policy = scalingPolicies(staging).find(
      (p) =>
        p.PolicyType === 'StepScaling' &&
        p.StepScalingPolicyConfiguration.StepAdjustments.some(
          (step: { ScalingAdjustment: number }) => step.ScalingAdjustment === 50,
        ),
    );
    expect(policy?.StepScalingPolicyConfiguration).toMatchObject({
      AdjustmentType: 'PercentChangeInCapacity',
      // 50 % of zero tasks is zero; the minimum magnitude makes it one.
      MinAdjustmentMagnitude: 1,
      StepAdjustments: [
        { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 9, ScalingAdjustment: 50 },
        { MetricIntervalLowerBound: 9, ScalingAdjustment: 100 },
      ],
    });
  });

  it('scales in when half the tasks idle and to zero after 15 idle minutes', () => {
    const alarm = alarmFor(staging, WorkerScaling.scaleInExpression);
    expect(alarm).toMatchObject({
      ComparisonOperator: 'LessThanOrEqualToThreshold',
      Threshold: 0.5,
      EvaluationPeriods: 15,
      DatapointsToAlarm: 15,
    });
    const ids = (alarm!.Metrics as { Id: string }[]).map((m) => m.Id).sort();
    expect(ids).toEqual(['expr_1', 'inFlight', 'running', 'visible'].sort());
    const policy = scalingPolicies(staging).find((p) =>
      p.StepScalingPolicyConfiguration?.StepAdjustments.some(
        (step: { ScalingAdjustment: number }) => step.ScalingAdjustment === -100,
      ),
    );
    expect(policy?.StepScalingPolicyConfiguration).toMatchObject({
      AdjustmentType: 'PercentChangeInCapacity',
      MinAdjustmentMagnitude: 1,
      StepAdjustments: expect.arrayContaining([
        { MetricIntervalUpperBound: -0.5, ScalingAdjustment: -100 },
        { MetricIntervalLowerBound: -0.5, MetricIntervalUpperBound: 0, ScalingAdjustment: -25 },
      ]),
    });
  });
});

describe('the prerequisites stack', () => {
  it('keeps immutable, scanned images and the signing keys even when deleted', () => {
    const template = Template.fromStack(staging.prerequisites);
    template.hasResource('AWS::ECR::Repository', {
      Properties: Match.objectLike({
        RepositoryName: 'churnline-staging',
        ImageTagMutability: 'IMMUTABLE',
        ImageScanningConfiguration: { ScanOnPush: true },
      }),
      DeletionPolicy: 'Retain',
    });
    template.hasResource('AWS::SecretsManager::Secret', {
      Properties: Match.objectLike({ Name: 'churnline/staging/job-signing-keys' }),
      DeletionPolicy: 'Retain',
    });
  });
});

describe('the network', () => {
  it('reaches SQS through an interface endpoint with private DNS, from the app subnets', () => {
    staging.template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      ServiceName: 'com.amazonaws.us-east-1.sqs',
      PrivateDnsEnabled: true,
    });
  });

  it('reaches S3 through a gateway endpoint', () => {
    staging.template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] },
    });
  });

  it('has one NAT gateway in staging and one per AZ in prod, and flow logs', () => {
    staging.template.resourceCountIs('AWS::EC2::NatGateway', 1);
    prod.template.resourceCountIs('AWS::EC2::NatGateway', 2);
    staging.template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
  });
});
