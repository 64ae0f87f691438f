import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { EnvironmentSettings } from './settings.js';

export interface NetworkProps {
  readonly settings: EnvironmentSettings;
}

/**
 * Two AZs with three tiers: public (ALB, NAT), private with egress (Fargate tasks, which must
 * reach the identity provider's JWKS URL) and isolated (the database, no route out at all).
 * Job traffic to SQS and S3 goes through VPC endpoints so it never crosses the NAT gateway.
 */
export class Network extends Construct {
  static readonly cidr = '10.40.0.0/16';

  readonly vpc: ec2.Vpc;
  readonly sqsEndpoint: ec2.InterfaceVpcEndpoint;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { settings } = props;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(Network.cidr),
      maxAzs: 2,
      natGateways: settings.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // The default security group must not allow anything; every resource gets its own.
      restrictDefaultSecurityGroup: true,
    });

    // Flow logs let us answer "who talked to the database" after the fact.
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: settings.logRetentionDays,
      removalPolicy: settings.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    // Gateway endpoints are free and also carry ECR image layers, which live in S3.
    this.vpc.addGatewayEndpoint('S3Endpoint', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [{ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }],
    });

    const endpointSecurityGroup = new ec2.SecurityGroup(this, 'SqsEndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'HTTPS from inside the VPC to the SQS interface endpoint',
      allowAllOutbound: false,
    });
    endpointSecurityGroup.addIngressRule(
      ec2.Peer.ipv4(Network.cidr),
      ec2.Port.tcp(443),
      'SQS API calls from the Fargate tasks',
    );
    this.sqsEndpoint = this.vpc.addInterfaceEndpoint('SqsEndpoint', {
      service: ec2.InterfaceVpcEndpointAwsService.SQS,
      subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [endpointSecurityGroup],
      // Our own rule above names the port and the reason; the default one would duplicate it.
      open: false,
      // Private DNS makes the ordinary sqs.<region>.amazonaws.com name resolve to the endpoint,
      // so the service needs no endpoint override.
      privateDnsEnabled: true,
    });
  }
}
