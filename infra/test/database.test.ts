import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, synthesize } from './test-support/synth.js';

let staging: Synthesized;
let prod: Synthesized;

beforeAll(() => {
  staging = synthesize('staging');
  prod = synthesize('prod');
});

const instance = (s: Synthesized) =>
  s.template.toJSON().Resources[s.logicalId(s.stack.database.instance)];

describe('the PostgreSQL database', () => {
  it('is encrypted PostgreSQL that is not publicly accessible', () => {
    expect(instance(staging).Properties).toMatchObject({
      Engine: 'postgres',
      EngineVersion: expect.stringMatching(/^17/),
      StorageEncrypted: true,
      PubliclyAccessible: false,
      DBName: 'churnline',
      DBInstanceIdentifier: 'churnline-staging',
    });
  });

  it('lives in the isolated subnets, which have no route out of the VPC', () => {
    const subnetGroups = staging.template.findResources('AWS::RDS::DBSubnetGroup');
    const [group] = Object.values(subnetGroups);
    const subnetIds = (group!.Properties.SubnetIds as { Ref: string }[]).map((ref) => ref.Ref);
    expect(subnetIds).toHaveLength(2);
    const resources = staging.template.toJSON().Resources;
    for (const id of subnetIds) {
      expect(resources[id].Properties.Tags).toContainEqual({
        Key: 'aws-cdk:subnet-type',
        Value: 'Isolated',
      });
      expect(resources[id].Properties.MapPublicIpOnLaunch).toBe(false);
    }
    const routes = Object.values(staging.template.findResources('AWS::EC2::Route'));
    const isolatedTables = Object.entries(resources)
      .filter(([, r]) => (r as { Type: string }).Type === 'AWS::EC2::SubnetRouteTableAssociation')
      .filter(([, r]) =>
        subnetIds.includes(
          (r as { Properties: { SubnetId: { Ref: string } } }).Properties.SubnetId.Ref,
        ),
      )
      .map(([, r]) =>
        JSON.stringify((r as { Properties: { RouteTableId: unknown } }).Properties.RouteTableId),
      );
    expect(isolatedTables).toHaveLength(2);
    for (const route of routes) {
      expect(isolatedTables).not.toContain(JSON.stringify(route.Properties.RouteTableId));
    }
  });

  it('takes its credentials from a generated Secrets Manager secret', () => {
    const secrets = staging.template.findResources('AWS::SecretsManager::Secret', {
      Properties: { Name: 'churnline/staging/database' },
    });
    expect(Object.keys(secrets)).toHaveLength(1);
    const [secret] = Object.values(secrets);
    expect(secret?.Properties.GenerateSecretString).toMatchObject({
      GenerateStringKey: 'password',
      SecretStringTemplate: '{"username":"churnline"}',
    });
    const properties = instance(staging).Properties;
    // The user name is not secret; the password is resolved by CloudFormation at deploy time
    // and never appears in the template.
    expect(properties.MasterUsername).toBe('churnline');
    expect(JSON.stringify(properties.MasterUserPassword)).toContain('{{resolve:secretsmanager:');
    expect(JSON.stringify(properties.MasterUserPassword)).toContain(Object.keys(secrets)[0]);
    staging.template.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', {
      TargetType: 'AWS::RDS::DBInstance',
    });
  });

  it('refuses connections without TLS', () => {
    staging.template.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres17',
      Parameters: { 'rds.force_ssl': '1' },
    });
  });

  it('admits PostgreSQL only from the API and worker task security groups', () => {
    const databaseGroup = staging.logicalId(staging.stack.database.securityGroup);
    const ingress = Object.values(
      staging.template.findResources('AWS::EC2::SecurityGroupIngress', {
        Properties: { GroupId: { 'Fn::GetAtt': [databaseGroup, 'GroupId'] } },
      }),
    ).map((rule) => rule.Properties);
    const sources = ingress.map((rule) => rule.SourceSecurityGroupId['Fn::GetAtt'][0]).sort();
    expect(sources).toEqual(
      [
        staging.logicalId(staging.stack.services.apiService.connections.securityGroups[0]!),
        staging.logicalId(staging.stack.services.workerService.connections.securityGroups[0]!),
      ].sort(),
    );
    for (const rule of ingress) {
      expect(rule).toMatchObject({ IpProtocol: 'tcp' });
      expect(JSON.stringify(rule.FromPort)).toContain('Endpoint.Port');
    }
    const group = staging.template.toJSON().Resources[databaseGroup].Properties;
    expect(group.SecurityGroupIngress).toBeUndefined();
  });

  it('is Multi-AZ with deletion protection and a final snapshot in prod only', () => {
    expect(instance(prod).Properties).toMatchObject({ MultiAZ: true, DeletionProtection: true });
    expect(instance(prod).DeletionPolicy).toBe('Snapshot');
    expect(instance(staging).Properties).toMatchObject({
      MultiAZ: false,
      DeletionProtection: false,
    });
    expect(instance(prod).Properties.BackupRetentionPeriod).toBe(14);
    expect(instance(staging).Properties.BackupRetentionPeriod).toBe(7);
  });
});
