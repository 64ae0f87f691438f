import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { EnvironmentSettings } from './settings.js';

export interface StorageProps {
  readonly settings: EnvironmentSettings;
}

/**
 * The bucket for uploads and results, plus a second bucket that receives the S3 server access
 * logs and the load balancer's access logs (a bucket cannot usefully log into itself).
 *
 * Everything Churnline writes lives under one prefix (S3_PREFIX), so the task roles can be
 * limited to it and the bucket can be shared with other tools later without widening access.
 *
 * Results are keyed `users/<uid>/results/<id>.csv` (src/ids.ts), next to that user's uploads,
 * and a lifecycle filter matches only a leading prefix, so no prefix can select results alone.
 * The S3 blob store therefore tags result objects `churnline:kind=result` when it writes them,
 * and the expiry rule selects on that tag.
 */
export class Storage extends Construct {
  static readonly prefix = 'churnline/';
  static readonly resultTag = { key: 'churnline:kind', value: 'result' } as const;
  /**
   * The S3 actions a role needs to stream objects in and out under the prefix. A put that
   * carries tags (x-amz-tagging) needs s3:PutObjectTagging as well.
   */
  static readonly objectActions = [
    's3:GetObject',
    's3:PutObject',
    's3:PutObjectTagging',
    // Deleting a prediction removes its results object.
    's3:DeleteObject',
    's3:AbortMultipartUpload',
  ];

  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const { settings } = props;
    // Buckets are kept when the stack is deleted, in every environment: CloudFormation cannot
    // delete a non-empty bucket, and emptying it automatically needs a custom-resource Lambda
    // with broad delete rights, which is worse than deleting a staging bucket by hand.
    const removal = { removalPolicy: RemovalPolicy.RETAIN };

    this.logBucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // Load balancer access logs can only be delivered to SSE-S3 buckets, not SSE-KMS.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      ...removal,
    });

    this.bucket = new s3.Bucket(this, 'Data', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        {
          // Expire only; no move to Infrequent Access: a typical result is ~100 KB, below IA's
          // 128 KB minimum billable size, and each transition costs more than it would save.
          id: 'expire-results',
          prefix: Storage.prefix,
          tagFilters: { [Storage.resultTag.key]: Storage.resultTag.value },
          expiration: Duration.days(settings.results.expireAfterDays),
        },
        {
          // Versioning guards against a bad overwrite; old versions need not live forever.
          id: 'expire-old-versions',
          noncurrentVersionExpiration: Duration.days(30),
          expiredObjectDeleteMarker: true,
        },
        {
          // A worker killed mid-upload leaves parts behind that are billed until aborted.
          id: 'abort-incomplete-uploads',
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      ...removal,
    });
  }

  /**
   * Read and write objects under the Churnline prefix, nothing else. Without s3:ListBucket a
   * GET of a missing key answers 403 AccessDenied rather than 404; keys are generated from ids
   * the service already holds, so it never needs to probe or list.
   */
  grantPrefixReadWrite(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWriteChurnlineObjects',
        actions: Storage.objectActions,
        resources: [this.bucket.arnForObjects(`${Storage.prefix}*`)],
      }),
    );
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${Storage.prefix}*]`,
      reason:
        'Object keys are generated per user and upload, so the only bound is the Churnline prefix; the wildcard covers object names under it, not other prefixes or buckets.',
    });
  }
}
