import { CfnOutput, CfnParameter, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { Alarms } from './alarms.js';
import { Database } from './database.js';
import { Network } from './network.js';
import { JobQueues } from './queues.js';
import { Services } from './services.js';
import type { EnvironmentSettings } from './settings.js';
import { Storage } from './storage.js';

export interface ChurnlineStackProps extends StackProps {
  readonly settings: EnvironmentSettings;
  readonly repository: ecr.IRepository;
  /** JOB_SIGNING_KEYS, from the prerequisites stack. */
  readonly signingKeys: secretsmanager.ISecret;
  /** The image tag to run (tags are immutable; we tag with the git commit). */
  readonly imageTag: string;
  /** ACM certificate ARN for the API's HTTPS listener; required for prod. */
  readonly certificateArn?: string;
  readonly alarmEmail?: string;
}

/** Everything Churnline needs to run in one AWS account and region. */
export class ChurnlineStack extends Stack {
  readonly apiRole: iam.Role;
  readonly workerRole: iam.Role;
  readonly queues: JobQueues;
  readonly storage: Storage;
  readonly database: Database;
  readonly services: Services;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: ChurnlineStackProps) {
    super(scope, id, props);
    const { settings } = props;
    if (settings.name === 'prod' && !props.certificateArn) {
      throw new Error(
        'prod needs HTTPS: pass -c certificateArn=<ACM certificate ARN in this region>',
      );
    }

    // The identity provider differs per deployment and is not ours to invent, so it is a
    // deploy-time parameter: cdk deploy --parameters AuthIssuer=... (see infra/README.md).
    const auth = {
      jwksUrl: new CfnParameter(this, 'AuthJwksUrl', {
        description: 'JWKS URL of the identity provider that signs API tokens (AUTH_JWKS_URL)',
        allowedPattern: '^https://.+',
        constraintDescription: 'must be an https:// URL',
      }).valueAsString,
      issuer: new CfnParameter(this, 'AuthIssuer', {
        description: 'Expected "iss" claim of API tokens (AUTH_ISSUER)',
        minLength: 1,
      }).valueAsString,
      audience: new CfnParameter(this, 'AuthAudience', {
        description: 'Expected "aud" claim of API tokens (AUTH_AUDIENCE)',
        minLength: 1,
      }).valueAsString,
    };

    this.apiRole = this.taskRole(
      'ApiTaskRole',
      'Churnline API tasks: publish jobs, read and write blobs',
    );
    this.workerRole = this.taskRole(
      'WorkerTaskRole',
      'Churnline worker tasks: consume jobs, read and write blobs',
    );

    const network = new Network(this, 'Network', { settings });
    this.storage = new Storage(this, 'Storage', { settings });
    this.storage.grantPrefixReadWrite(this.apiRole);
    this.storage.grantPrefixReadWrite(this.workerRole);
    this.queues = new JobQueues(this, 'Queues', {
      settings,
      apiRole: this.apiRole,
      workerRole: this.workerRole,
    });
    this.database = new Database(this, 'Database', { settings, vpc: network.vpc });

    this.services = new Services(this, 'Services', {
      settings,
      vpc: network.vpc,
      repository: props.repository,
      imageTag: props.imageTag,
      apiRole: this.apiRole,
      workerRole: this.workerRole,
      queue: this.queues.queue,
      deadLetterQueue: this.queues.deadLetterQueue,
      bucket: this.storage.bucket,
      logBucket: this.storage.logBucket,
      database: this.database,
      signingKeys: props.signingKeys,
      auth,
      ...(props.certificateArn ? { certificateArn: props.certificateArn } : {}),
    });

    this.alarms = new Alarms(this, 'Alarms', {
      settings,
      queue: this.queues.queue,
      deadLetterQueue: this.queues.deadLetterQueue,
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });

    const scheme = props.certificateArn ? 'https' : 'http';
    new CfnOutput(this, 'ApiUrl', {
      value: `${scheme}://${this.services.loadBalancer.loadBalancerDnsName}`,
      description: 'Point a DNS name (matching the certificate) at this load balancer',
    });
    new CfnOutput(this, 'QueueUrl', { value: this.queues.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.queues.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'DatabaseEndpoint', {
      value: this.database.instance.dbInstanceEndpointAddress,
    });
    new CfnOutput(this, 'DatabaseSecretArn', { value: this.database.secret.secretArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'ClusterName', { value: this.services.cluster.clusterName });
    // For one-off operations such as restarting the tasks after a secret changes.
    new CfnOutput(this, 'ApiServiceName', { value: this.services.apiService.serviceName });
    new CfnOutput(this, 'WorkerServiceName', { value: this.services.workerService.serviceName });
  }

  /** A role only ECS tasks of this account and region can assume (no confused deputy). */
  private taskRole(id: string, description: string): iam.Role {
    return new iam.Role(this, id, {
      description,
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': this.account },
        ArnLike: { 'aws:SourceArn': `arn:${this.partition}:ecs:${this.region}:${this.account}:*` },
      }),
    });
  }
}
