import { type Acknowledgment, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { EnvironmentSettings } from './settings.js';

export interface DatabaseProps {
  readonly settings: EnvironmentSettings;
  readonly vpc: ec2.IVpc;
}

/**
 * PostgreSQL on RDS in the isolated subnets, encrypted at rest, TLS enforced, with the master
 * credentials generated into Secrets Manager (the password never appears in the template).
 */
export class Database extends Construct {
  static readonly databaseName = 'churnline';
  static readonly username = 'churnline';

  readonly instance: rds.DatabaseInstance;
  readonly secret: secretsmanager.ISecret;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { settings, vpc } = props;
    const engine = rds.DatabaseInstanceEngine.postgres({
      version: rds.PostgresEngineVersion.VER_17,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'PostgreSQL; ingress only from the Churnline task security groups',
      allowAllOutbound: false,
    });

    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: 'Churnline PostgreSQL: refuse unencrypted connections',
      parameters: { 'rds.force_ssl': '1' },
    });

    // The log group RDS exports to is created here, with its retention, rather than through
    // cloudwatchLogsRetention, which deploys a Lambda function just to set the retention.
    const instanceIdentifier = `churnline-${settings.name}`;
    const logGroup = new logs.LogGroup(this, 'PostgresLogs', {
      logGroupName: `/aws/rds/instance/${instanceIdentifier}/postgresql`,
      retention: settings.logRetentionDays,
      removalPolicy: settings.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      instanceIdentifier,
      engine,
      instanceType: new ec2.InstanceType(settings.database.instanceType),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.securityGroup],
      databaseName: Database.databaseName,
      credentials: rds.Credentials.fromGeneratedSecret(Database.username, {
        secretName: `churnline/${settings.name}/database`,
      }),
      parameterGroup,
      storageEncrypted: true,
      storageType: rds.StorageType.GP3,
      allocatedStorage: settings.database.allocatedStorageGiB,
      maxAllocatedStorage: settings.database.maxAllocatedStorageGiB,
      multiAz: settings.database.multiAz,
      publiclyAccessible: false,
      backupRetention: Duration.days(settings.database.backupRetentionDays),
      deletionProtection: settings.database.deletionProtection,
      removalPolicy: settings.retainData ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      autoMinorVersionUpgrade: true,
      cloudwatchLogsExports: ['postgresql'],
      enablePerformanceInsights: false,
    });
    this.instance.node.addDependency(logGroup);
    if (!this.instance.secret) throw new Error('RDS did not create the credentials secret');
    this.secret = this.instance.secret;

    const acknowledgments: Acknowledgment[] = [
      {
        id: 'AwsSolutions-RDS11',
        reason:
          'A non-default port is obscurity, not protection: the security group admits only the two task security groups and the subnets have no route to the internet.',
      },
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'ECS injects the password into the tasks once at start; rotating it under running tasks would break new connections until they restart. Rotate by updating the secret and redeploying both services.',
      },
    ];
    if (!settings.database.multiAz) {
      acknowledgments.push({
        id: 'AwsSolutions-RDS3',
        reason: `A standby instance doubles the database cost; ${settings.name} accepts an outage while RDS replaces a failed instance. Production is Multi-AZ.`,
      });
    }
    if (!settings.database.deletionProtection) {
      acknowledgments.push({
        id: 'AwsSolutions-RDS10',
        reason: `${settings.name} is torn down and rebuilt freely; production has deletion protection on.`,
      });
    }
    Validations.of(this.instance).acknowledge(...acknowledgments);
  }

  /** Let a task security group open PostgreSQL connections. */
  allowFrom(peer: ec2.ISecurityGroup, description: string): void {
    this.instance.connections.allowDefaultPortFrom(peer, description);
  }
}
