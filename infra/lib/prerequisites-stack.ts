import { RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { EnvironmentSettings } from './settings.js';

export interface PrerequisitesStackProps extends StackProps {
  readonly settings: EnvironmentSettings;
}

/**
 * What must exist, and hold something the operator puts there, before the services can start:
 * the image repository (an image) and the job signing keys (a key). Deploy this stack, push the
 * image, put the keys, then deploy the application stack (infra/README.md).
 */
export class PrerequisitesStack extends Stack {
  readonly repository: ecr.Repository;
  readonly signingKeys: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: PrerequisitesStackProps) {
    super(scope, id, props);
    const { settings } = props;

    this.repository = new ecr.Repository(this, 'Repository', {
      repositoryName: `churnline-${settings.name}`,
      // A tag always names the same image, so a task started tomorrow runs what was reviewed.
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      imageScanOnPush: true,
      encryption: ecr.RepositoryEncryption.AES_256,
      lifecycleRules: [
        { description: 'Keep the last 30 images to roll back to', maxImageCount: 30 },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // JOB_SIGNING_KEYS is "kid:base64secret[,kid:base64secret...]" (src/jobs/signing-keys.ts).
    // Secrets Manager generates only bare random strings or JSON, not that shape, so the
    // operator puts the key material (`k1:$(openssl rand -base64 32)`); it never passes
    // through CloudFormation. Until then the generated value has no key id, and the service
    // refuses to start with a message that names JOB_SIGNING_KEYS and the expected form.
    this.signingKeys = new secretsmanager.Secret(this, 'JobSigningKeys', {
      secretName: `churnline/${settings.name}/job-signing-keys`,
      description:
        'JOB_SIGNING_KEYS for Churnline job messages: "kid:base64secret[,kid:base64secret...]", the first key signs. Set with put-secret-value (infra/README.md).',
      // Losing the keys would strand every signed message still queued (up to 4 days).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.signingKeys).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Automatic rotation would replace every key at once while messages signed with the old one wait in the queue (up to 4 days). Rotation is by hand: put a new key first, redeploy, drop the old one after the retention period.',
    });
  }
}
