import type { Config } from '../config/index.js';
import type { BlobStore } from './port.js';

/**
 * The configured blob store; also called by scoring threads, which build their own. The S3 SDK is
 * imported only when S3 is configured.
 */
export async function openBlobStore(config: Config): Promise<BlobStore> {
  const blobs = config.blobs;
  switch (blobs.kind) {
    case 'fs': {
      const { FsBlobStore } = await import('./fs.js');
      return new FsBlobStore(blobs.root);
    }
    case 's3': {
      const { S3BlobStore } = await import('./s3.js');
      return new S3BlobStore({
        bucket: blobs.bucket,
        prefix: blobs.prefix,
        forcePathStyle: blobs.forcePathStyle,
        serverSideEncryption: blobs.serverSideEncryption,
        ...awsOptions(blobs.aws),
      });
    }
  }
}

/** Region and endpoint when given; credentials always from the SDK's standard chain. */
export function awsOptions(aws: { region: string | undefined; endpoint: string | undefined }) {
  return {
    ...(aws.region === undefined ? {} : { region: aws.region }),
    ...(aws.endpoint === undefined ? {} : { endpoint: aws.endpoint }),
  };
}
