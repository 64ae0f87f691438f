import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import type { Construct } from 'constructs';
import type { EnvironmentSettings } from './settings.js';

export interface RegistryStackProps extends StackProps {
  readonly settings: EnvironmentSettings;
}

/**
 * The image repository, in its own stack because it must exist, and hold an image, before the
 * services can start: deploy this stack, push the image, then deploy the application stack.
 */
export class RegistryStack extends Stack {
  readonly repository: ecr.Repository;

  constructor(scope: Construct, id: string, props: RegistryStackProps) {
    super(scope, id, props);
    this.repository = new ecr.Repository(this, 'Repository', {
      repositoryName: `churnline-${props.settings.name}`,
      // A tag always names the same image, so a task started tomorrow runs what was reviewed.
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      imageScanOnPush: true,
      encryption: ecr.RepositoryEncryption.AES_256,
      lifecycleRules: [
        { description: 'Keep the last 30 images to roll back to', maxImageCount: 30 },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
