/**
 * `churnline setup` for BLOBS=s3: creates the bucket S3_BUCKET names when there is none. A bucket
 * that exists is only checked for access; its policies stay the operator's.
 */
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  HeadBucketCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { classifyAwsError, credentialProblem } from '../aws/errors.js';
import { BlobError } from './port.js';

/** One line saying what was done: created, or found. */
export async function provisionBucket(options: {
  client: S3Client;
  bucket: string;
  region: string;
}): Promise<string> {
  const { client, bucket, region } = options;
  const problem = (error: unknown, action: string, fix: string) =>
    new BlobError(
      'io',
      credentialProblem(error, 'S3') ??
        `Could not ${action} S3_BUCKET ${bucket}: ${classifyAwsError(error).code} (${classifyAwsError(error).message}). ${fix}`,
      false,
      { cause: error },
    );
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return `found the bucket ${bucket}`;
  } catch (error) {
    const { httpStatus, code } = classifyAwsError(error);
    if (httpStatus === 403 || code === 'Forbidden') {
      throw problem(
        error,
        'use',
        'The bucket exists but these credentials may not use it: it belongs to another account (bucket names are global: choose another), or the role lacks s3:ListBucket on it.',
      );
    }
    if (httpStatus !== 404) throw problem(error, 'look up', 'Check AWS_REGION and the endpoint.');
  }
  try {
    await client.send(
      new CreateBucketCommand({
        Bucket: bucket,
        // us-east-1 is the default location and refuses to be named as a constraint.
        ...(region === 'us-east-1'
          ? {}
          : {
              CreateBucketConfiguration: {
                LocationConstraint: region as BucketLocationConstraint,
              },
            }),
      }),
    );
  } catch (error) {
    throw problem(
      error,
      'create',
      'Bucket names are global: if another account holds it, choose another S3_BUCKET.',
    );
  }
  return `created the bucket ${bucket}`;
}
