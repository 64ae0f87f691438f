import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, synthesize } from './test-support/synth.js';

let staging: Synthesized;
let prod: Synthesized;

beforeAll(() => {
  staging = synthesize('staging');
  prod = synthesize('prod');
});

const bucketProperties = (s: Synthesized, which: 'bucket' | 'logBucket') =>
  s.template.toJSON().Resources[s.logicalId(s.stack.storage[which])].Properties;

function bucketPolicyStatements(s: Synthesized, which: 'bucket' | 'logBucket') {
  const id = s.logicalId(s.stack.storage[which]);
  const policies = s.template.findResources('AWS::S3::BucketPolicy', {
    Properties: { Bucket: { Ref: id } },
  });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('the data bucket', () => {
  it('blocks all public access', () => {
    expect(bucketProperties(staging, 'bucket').PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('encrypts every object at rest', () => {
    expect(bucketProperties(staging, 'bucket').BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
      ],
    });
  });

  it('is versioned and owner-enforced (no ACLs)', () => {
    const properties = bucketProperties(staging, 'bucket');
    expect(properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(properties.OwnershipControls).toEqual({
      Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
    });
  });

  it('refuses every request made without TLS', () => {
    const id = staging.logicalId(staging.stack.storage.bucket);
    expect(bucketPolicyStatements(staging, 'bucket')).toContainEqual({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:*',
      Resource: [
        { 'Fn::GetAtt': [id, 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, '/*']] },
      ],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
  });

  it('expires results (and only results) per environment, and cleans up old versions and parts', () => {
    const rules = (s: Synthesized) =>
      bucketProperties(s, 'bucket').LifecycleConfiguration.Rules as Record<string, unknown>[];
    expect(rules(staging)).toEqual([
      {
        // Results sit beside uploads under users/<uid>/, so the rule selects them by tag.
        Id: 'expire-results',
        Prefix: 'churnline/',
        TagFilters: [{ Key: 'churnline:kind', Value: 'result' }],
        Status: 'Enabled',
        ExpirationInDays: 90,
      },
      {
        Id: 'expire-old-versions',
        NoncurrentVersionExpiration: { NoncurrentDays: 30 },
        ExpiredObjectDeleteMarker: true,
        Status: 'Enabled',
      },
      {
        Id: 'abort-incomplete-uploads',
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        Status: 'Enabled',
      },
    ]);
    expect(rules(prod)[0]).toMatchObject({ Id: 'expire-results', ExpirationInDays: 365 });
  });

  it('logs access into the separate access-log bucket', () => {
    expect(bucketProperties(staging, 'bucket').LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: staging.logicalId(staging.stack.storage.logBucket) },
      LogFilePrefix: 'data-bucket/',
    });
  });

  it('is kept when the stack is deleted', () => {
    const id = staging.logicalId(staging.stack.storage.bucket);
    expect(staging.template.toJSON().Resources[id].DeletionPolicy).toBe('Retain');
  });
});

describe('the access-log bucket', () => {
  it('takes S3 access logs from the data bucket only, under a policy rather than an ACL', () => {
    const properties = bucketProperties(staging, 'logBucket');
    expect(properties.AccessControl).toBeUndefined();
    expect(properties.OwnershipControls).toEqual({
      Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
    });
    expect(bucketPolicyStatements(staging, 'logBucket')).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: 's3:PutObject',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Condition: expect.objectContaining({
          ArnLike: {
            'aws:SourceArn': {
              'Fn::GetAtt': [staging.logicalId(staging.stack.storage.bucket), 'Arn'],
            },
          },
        }),
      }),
    );
  });

  it('is private, encrypted and TLS-only too', () => {
    const properties = bucketProperties(staging, 'logBucket');
    expect(properties.PublicAccessBlockConfiguration.BlockPublicPolicy).toBe(true);
    expect(properties.BucketEncryption.ServerSideEncryptionConfiguration[0]).toEqual({
      ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' },
    });
    expect(bucketPolicyStatements(staging, 'logBucket')).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });
});
