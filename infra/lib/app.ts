import { execFileSync } from 'node:child_process';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ChurnlineStack } from './churnline-stack.js';
import { PrerequisitesStack } from './prerequisites-stack.js';
import { settingsFor } from './settings.js';

/**
 * CDK feature flags the app relies on; the tests build their App with the same ones.
 */
export const featureFlags = {
  // Deliver S3 server access logs under a bucket policy instead of the LogDeliveryWrite ACL,
  // so the access-log bucket can have ACLs disabled like every other bucket.
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
} as const;

/**
 * Builds the Churnline CDK app: the prerequisites stack and the application stack for one
 * environment, checked against the cdk-nag AwsSolutions rules. Context:
 *   -c env=staging|prod        which environment (default staging)
 *   -c imageTag=<tag>          image to run (default: the current git commit, which is how
 *                              infra/README.md tells you to tag the pushed image)
 *   -c region=<aws region>     default CDK_DEFAULT_REGION, else us-east-1
 *   -c certificateArn=<arn>    HTTPS for the API (required for prod)
 *   -c alarmEmail=<address>    subscribe an email address to the alarm topic
 */
export function buildApp(props: AppProps = {}): App {
  const app = new App({ ...props, context: { ...featureFlags, ...props.context } });
  const context = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return typeof value === 'string' && value !== '' ? value : undefined;
  };

  const settings = settingsFor(context('env') ?? 'staging');
  const imageTag =
    context('imageTag') ?? execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const env = {
    region: context('region') ?? process.env.CDK_DEFAULT_REGION ?? 'us-east-1',
    ...(process.env.CDK_DEFAULT_ACCOUNT ? { account: process.env.CDK_DEFAULT_ACCOUNT } : {}),
  };
  const certificateArn = context('certificateArn');
  const alarmEmail = context('alarmEmail');

  const prerequisites = new PrerequisitesStack(app, `Churnline-${settings.name}-Prerequisites`, {
    env,
    settings,
  });
  new ChurnlineStack(app, `Churnline-${settings.name}`, {
    env,
    settings,
    repository: prerequisites.repository,
    signingKeys: prerequisites.signingKeys,
    imageTag,
    ...(certificateArn ? { certificateArn } : {}),
    ...(alarmEmail ? { alarmEmail } : {}),
    description: `Churnline churn-risk scoring service (${settings.name})`,
  });

  // Every synth and deploy checks the AWS Solutions rules; an unacknowledged finding stops
  // synthesis, so neither `cdk deploy` nor `npm run infra:synth` gets past it.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return app;
}
