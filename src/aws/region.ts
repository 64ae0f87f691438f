/**
 * Amazon S3 and SQS need a region. Without one the API used to start, say it was ready, and
 * answer every upload with a 500: now start-up stops and says which variable to set.
 */
import { ConfigError } from '../config/index.js';

/**
 * Checks that the SDK can find a region for `uses` (the configured one, else its own chain:
 * AWS_REGION, then the profile in the shared config file); a ConfigError naming the fix if not.
 */
export async function requireAwsRegion(
  configured: string | undefined,
  uses: string,
): Promise<void> {
  if (configured) return;
  // The SDK's own resolution, through a client that makes no request.
  const { S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({});
  try {
    await client.config.region();
  } catch {
    throw new ConfigError(
      `Invalid configuration:\n  AWS_REGION is not set, and no AWS profile names a region: ${uses} needs one. Set AWS_REGION to the region of your bucket and queue (for example AWS_REGION=eu-west-1); an S3-compatible store such as MinIO accepts any name (AWS_REGION=us-east-1).`,
    );
  } finally {
    client.destroy();
  }
}
