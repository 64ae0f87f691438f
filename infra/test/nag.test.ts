import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type PolicyValidationPluginReport, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../lib/app.js';
import { fixture, type Synthesized, synthesize } from './test-support/synth.js';

/** Every acknowledgment in a construct tree, as "<path> <rule id>" with its reason. */
function acknowledgments(root: IConstruct): { where: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        // Recorded as { "Annotation::<rule id>": "<reason>" }.
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          where: `${construct.node.path} ${id.replace(/^annotation::/i, '')}`,
          reason,
        })),
      ),
  );
}

const report = (s: Synthesized): PolicyValidationPluginReport =>
  new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(s.app);

describe('cdk-nag AwsSolutions', () => {
  let staging: Synthesized;
  let prod: Synthesized;
  beforeAll(() => {
    staging = synthesize('staging');
    prod = synthesize('prod');
  });

  it.each([
    ['staging', () => staging],
    ['prod', () => prod],
  ])('has no unacknowledged error or warning in %s', (_name, s) => {
    const result = report(s());
    // Listing the violations makes a failure readable: rule, resources, what it wants.
    expect(
      result.violations.map((v) => ({
        rule: v.ruleName,
        severity: v.severity,
        resources: v.violatingResources.map((r) => r.resourceLogicalId),
        description: v.description,
      })),
    ).toEqual([]);
    expect(result.success).toBe(true);
  });

  it('acknowledges only these findings, each with its reason', () => {
    // CDK's own constructs acknowledge some CloudFormation-Validate rules; ours are AwsSolutions.
    const found = acknowledgments(prod.app).filter((a) => a.where.includes(' AwsSolutions-'));
    for (const { reason } of found) expect(reason.length).toBeGreaterThan(40);
    expect(
      found.map((a) => a.where.replace(/Storage[A-Za-z0-9]+\.Arn/, 'Bucket.Arn')).sort(),
    ).toEqual(
      [
        'Churnline-prod/ApiTaskRole AwsSolutions-IAM5[Resource::<Bucket.Arn>/churnline/*]',
        'Churnline-prod/WorkerTaskRole AwsSolutions-IAM5[Resource::<Bucket.Arn>/churnline/*]',
        'Churnline-prod/WorkerTaskRole AwsSolutions-IAM5[Resource::*]',
        'Churnline-prod/Database/Instance AwsSolutions-RDS11',
        'Churnline-prod/Database/Instance AwsSolutions-SMG4',
        'Churnline-prod/Services/LoadBalancerSecurityGroup AwsSolutions-EC23',
        'Churnline-prod/Services/ApiTask AwsSolutions-ECS2',
        'Churnline-prod/Services/ApiTask AwsSolutions-IAM5[Resource::*]',
        'Churnline-prod/Services/WorkerTask AwsSolutions-ECS2',
        'Churnline-prod/Services/WorkerTask AwsSolutions-IAM5[Resource::*]',
        'Churnline-prod-Prerequisites/JobSigningKeys AwsSolutions-SMG4',
      ].sort(),
    );
    // Staging additionally accepts a single-AZ database without deletion protection.
    const stagingOnly = acknowledgments(staging.app)
      .map((a) => a.where)
      .filter((where) => /RDS3|RDS10/.test(where));
    expect(stagingOnly.sort()).toEqual([
      'Churnline-staging/Database/Instance AwsSolutions-RDS10',
      'Churnline-staging/Database/Instance AwsSolutions-RDS3',
    ]);
  });

  describe('in the app as deployed', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'churnline-cdk-'));
    afterAll(() => rmSync(outdir, { recursive: true, force: true }));

    it('passes the validation that gates synthesis and deploys', () => {
      const app = buildApp({ outdir, context: { imageTag: fixture.imageTag } });
      const assembly = app.synth();
      expect(assembly.stacks.map((stack) => stack.stackName).sort()).toEqual([
        'Churnline-staging',
        'Churnline-staging-Prerequisites',
      ]);
    });

    it('stops synthesis on an unacknowledged finding', () => {
      const app = buildApp({ outdir, context: { imageTag: fixture.imageTag } });
      const stack = app.node.findChild('Churnline-staging');
      // Withdrawing one reasoned exception must fail the build, not pass silently.
      const group = stack.node.findChild('Services').node.findChild('LoadBalancerSecurityGroup');
      for (const entry of group.node.metadata) {
        if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
          for (const key of Object.keys(entry.data)) delete entry.data[key];
        }
      }
      expect(() => app.synth()).toThrow(/AwsSolutions-EC23/);
    });
  });
});
