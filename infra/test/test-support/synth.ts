import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { featureFlags } from '../../lib/app.js';
import { ChurnlineStack } from '../../lib/churnline-stack.js';
import { PrerequisitesStack } from '../../lib/prerequisites-stack.js';
import { type EnvironmentName, settingsFor } from '../../lib/settings.js';

/** Fixture values: an image tag as the README tells you to push it, and a certificate ARN shape. */
export const fixture = {
  region: 'us-east-1',
  imageTag: '3f9c2e1d5b7a4c6e8f0a1b2c3d4e5f6a7b8c9d0e',
  certificateArn:
    'arn:aws:acm:us-east-1:123456789012:certificate/8f5b5f6c-4d1e-4a2b-9c3d-1e2f3a4b5c6d',
} as const;

export interface Synthesized {
  readonly app: App;
  readonly stack: ChurnlineStack;
  readonly prerequisites: PrerequisitesStack;
  readonly template: Template;
  /** The CloudFormation logical id of a construct's resource in the application stack. */
  logicalId(construct: IConstruct): string;
}

/** Builds and synthesizes one environment the way infra/lib/app.ts does, without the CLI. */
export function synthesize(
  environment: EnvironmentName,
  options: { https?: boolean; alarmEmail?: string } = {},
): Synthesized {
  const app = new App({ context: featureFlags });
  const settings = settingsFor(environment);
  const env = { region: fixture.region };
  const prerequisites = new PrerequisitesStack(app, `Churnline-${environment}-Prerequisites`, {
    env,
    settings,
  });
  const https = options.https ?? environment === 'prod';
  const stack = new ChurnlineStack(app, `Churnline-${environment}`, {
    env,
    settings,
    repository: prerequisites.repository,
    signingKeys: prerequisites.signingKeys,
    imageTag: fixture.imageTag,
    ...(https ? { certificateArn: fixture.certificateArn } : {}),
    ...(options.alarmEmail ? { alarmEmail: options.alarmEmail } : {}),
  });
  const template = Template.fromStack(stack);
  return {
    app,
    stack,
    prerequisites,
    template,
    logicalId: (construct) => {
      const element = (construct.node.defaultChild ?? construct) as CfnElement;
      return Stack.of(element).getLogicalId(element);
    },
  };
}

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Principal?: unknown;
  Resource?: unknown;
  Condition?: unknown;
}

/** Every policy statement anywhere in a template (identity, resource and trust policies). */
export function allStatements(template: Template): Statement[] {
  const found: Statement[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
    } else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'Statement' && Array.isArray(inner)) found.push(...(inner as Statement[]));
        else walk(inner);
      }
    }
  };
  walk(template.toJSON());
  return found;
}

export const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

/** The statements of the identity policies attached to one role. */
export function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((policy) =>
      (policy.Properties.Roles as unknown[]).some(
        (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId }),
      ),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}
