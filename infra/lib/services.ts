import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Database } from './database.js';
import type { EnvironmentSettings } from './settings.js';
import { Storage } from './storage.js';
import { WorkerScaling } from './worker-scaling.js';

export interface AuthSettings {
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
}

export interface ServicesProps {
  readonly settings: EnvironmentSettings;
  readonly vpc: ec2.IVpc;
  readonly repository: ecr.IRepository;
  readonly imageTag: string;
  readonly apiRole: iam.IRole;
  readonly workerRole: iam.IRole;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly bucket: s3.IBucket;
  readonly logBucket: s3.IBucket;
  readonly database: Database;
  readonly signingKeys: secretsmanager.ISecret;
  readonly auth: AuthSettings;
  /** An ACM certificate for HTTPS; without one the API listens on plain HTTP (staging only). */
  readonly certificateArn?: string;
}

/** The port the API container listens on; the ALB forwards to it. */
export const apiPort = 8080;

/**
 * How long each role may drain after SIGTERM (SHUTDOWN_DEADLINE_S), and the grace ECS gives
 * before SIGKILL, a few seconds longer so the process always exits on its own terms. Fargate
 * allows at most 120 s.
 */
const shutdown = {
  api: { drainSeconds: 30, stopTimeoutSeconds: 35 },
  worker: { drainSeconds: 110, stopTimeoutSeconds: 120 },
} as const;

/**
 * Both roles run from the one image: `churnline serve --roles api` behind an ALB, and
 * `churnline worker` scaled on the queue backlog. The image's entrypoint is the `churnline`
 * CLI; the task definitions pass only the subcommand.
 */
export class Services extends Construct {
  readonly cluster: ecs.Cluster;
  readonly apiService: ecs.FargateService;
  readonly workerService: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: ServicesProps) {
    super(scope, id);
    const { settings, vpc, database } = props;

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      // Container Insights publishes RunningTaskCount, which the worker scaling divides by.
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    const image = ecs.ContainerImage.fromEcrRepository(props.repository, props.imageTag);
    // Non-secret settings. The database URL carries no credentials: node-postgres and libpq
    // both take the user and password from PGUSER / PGPASSWORD, which ECS injects from the
    // RDS secret, so the password never appears in the task definition.
    const environment: Record<string, string> = {
      LOG_LEVEL: 'info',
      CHURNLINE_ENVIRONMENT: settings.name,
      AWS_REGION: Stack.of(this).region,
      QUEUE: 'sqs',
      SQS_QUEUE_URL: props.queue.queueUrl,
      SQS_DLQ_URL: props.deadLetterQueue.queueUrl,
      BLOBS: 's3',
      S3_BUCKET: props.bucket.bucketName,
      S3_PREFIX: Storage.prefix,
      DATABASE_URL: `postgres://${database.instance.dbInstanceEndpointAddress}:${database.instance.dbInstanceEndpointPort}/${Database.databaseName}?sslmode=verify-full`,
    };
    const secrets: Record<string, ecs.Secret> = {
      PGUSER: ecs.Secret.fromSecretsManager(database.secret, 'username'),
      PGPASSWORD: ecs.Secret.fromSecretsManager(database.secret, 'password'),
      JOB_SIGNING_KEYS: ecs.Secret.fromSecretsManager(props.signingKeys),
    };
    const logGroup = (name: string) =>
      new logs.LogGroup(this, `${name}Logs`, {
        retention: settings.logRetentionDays,
        removalPolicy: settings.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });

    // --- API ---------------------------------------------------------------------------
    const apiTask = new ecs.FargateTaskDefinition(this, 'ApiTask', {
      cpu: settings.api.cpu,
      memoryLimitMiB: settings.api.memoryMiB,
      taskRole: props.apiRole,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    apiTask.addContainer('api', {
      image,
      command: ['serve', '--roles', 'api'],
      environment: {
        ...environment,
        // Listen on every interface inside the task; the default 127.0.0.1 is unreachable
        // from the load balancer.
        HOST: '0.0.0.0',
        PORT: String(apiPort),
        SHUTDOWN_DEADLINE_S: String(shutdown.api.drainSeconds),
        AUTH_JWKS_URL: props.auth.jwksUrl,
        AUTH_ISSUER: props.auth.issuer,
        AUTH_AUDIENCE: props.auth.audience,
      },
      secrets,
      portMappings: [{ containerPort: apiPort, protocol: ecs.Protocol.TCP }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'api', logGroup: logGroup('Api') }),
      // Let in-flight requests finish after the ALB stops sending new ones.
      stopTimeout: Duration.seconds(shutdown.api.stopTimeoutSeconds),
    });

    const apiSecurityGroup = new ec2.SecurityGroup(this, 'ApiSecurityGroup', {
      vpc,
      description: 'Churnline API tasks: HTTP from the load balancer only',
    });
    this.apiService = new ecs.FargateService(this, 'ApiService', {
      cluster: this.cluster,
      taskDefinition: apiTask,
      desiredCount: settings.api.minTasks,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [apiSecurityGroup],
      assignPublicIp: false,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(60),
    });
    database.allowFrom(apiSecurityGroup, 'PostgreSQL from the API tasks');

    const albSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc,
      description: 'Public HTTP(S) to the Churnline API load balancer',
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: albSecurityGroup,
      // Large CSV uploads on slow links stay open longer than the 60 s default.
      idleTimeout: Duration.seconds(120),
      dropInvalidHeaderFields: true,
      deletionProtection: settings.retainData,
    });
    this.loadBalancer.logAccessLogs(props.logBucket, 'load-balancer');
    Validations.of(albSecurityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'The API is public by design: customers call it from anywhere. Every request is authenticated with a JWT.',
    });

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'ApiTargets', {
      vpc,
      targetType: elbv2.TargetType.IP,
      port: apiPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      // Long enough for requests in flight to finish, short enough that deploys stay quick.
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        path: '/readyz',
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
      targets: [this.apiService],
    });
    this.addListeners(albSecurityGroup, props.certificateArn);
    apiSecurityGroup.connections.allowFrom(
      albSecurityGroup,
      ec2.Port.tcp(apiPort),
      'HTTP from the API load balancer',
    );

    const apiScaling = this.apiService.autoScaleTaskCount({
      minCapacity: settings.api.minTasks,
      maxCapacity: settings.api.maxTasks,
    });
    apiScaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: 60,
      scaleInCooldown: Duration.seconds(300),
      scaleOutCooldown: Duration.seconds(60),
    });

    // --- Worker ------------------------------------------------------------------------
    const workerTask = new ecs.FargateTaskDefinition(this, 'WorkerTask', {
      cpu: settings.worker.cpu,
      memoryLimitMiB: settings.worker.memoryMiB,
      taskRole: props.workerRole,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    workerTask.addContainer('worker', {
      image,
      command: ['worker'],
      environment: {
        ...environment,
        SHUTDOWN_DEADLINE_S: String(shutdown.worker.drainSeconds),
        // Workers run the monitor, whose oldest-message alarm needs the age from CloudWatch.
        SQS_OLDEST_AGE_SOURCE: 'cloudwatch',
      },
      secrets,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'worker', logGroup: logGroup('Worker') }),
      // A job being scored gets almost two minutes to finish after scale-in; anything longer
      // is redelivered when its visibility lapses.
      stopTimeout: Duration.seconds(shutdown.worker.stopTimeoutSeconds),
    });
    const workerSecurityGroup = new ec2.SecurityGroup(this, 'WorkerSecurityGroup', {
      vpc,
      description: 'Churnline worker tasks: no inbound traffic',
    });
    this.workerService = new ecs.FargateService(this, 'WorkerService', {
      cluster: this.cluster,
      taskDefinition: workerTask,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [workerSecurityGroup],
      assignPublicIp: false,
      circuitBreaker: { rollback: true },
      // Workers hold no connections worth draining; a deploy may replace them all at once.
      minHealthyPercent: 0,
      maxHealthyPercent: 200,
    });
    database.allowFrom(workerSecurityGroup, 'PostgreSQL from the worker tasks');
    new WorkerScaling(this, 'WorkerScaling', {
      service: this.workerService,
      cluster: this.cluster,
      queue: props.queue,
      maxTasks: settings.worker.maxTasks,
    });

    for (const task of [apiTask, workerTask]) {
      Validations.of(task).acknowledge(
        {
          id: 'AwsSolutions-ECS2',
          reason:
            'The plain environment holds only non-secret settings (queue URLs, bucket name, database host, JWKS URL); the database credentials and job signing keys come from Secrets Manager as ECS secrets.',
        },
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'The ECS execution role policy CDK generates uses Resource * for ecr:GetAuthorizationToken, which supports no resource scoping.',
        },
      );
    }
  }

  private addListeners(albSecurityGroup: ec2.SecurityGroup, certificateArn?: string): void {
    const publicPort = certificateArn ? 443 : 80;
    albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(publicPort), 'API clients');
    if (!certificateArn) {
      this.loadBalancer.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        defaultTargetGroups: [this.targetGroup],
        open: false,
      });
      return;
    }
    this.loadBalancer.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [elbv2.ListenerCertificate.fromArn(certificateArn)],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      defaultTargetGroups: [this.targetGroup],
      open: false,
    });
    // Plain HTTP only redirects, so a bearer token typed with http:// is not forwarded in clear.
    albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'Redirect to HTTPS');
    this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
  }
}
