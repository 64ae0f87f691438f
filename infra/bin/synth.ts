import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../lib/app.js';

/**
 * `npm run infra:synth [-- -c env=prod -c imageTag=...]`: synthesizes the app without the CDK
 * CLI or an AWS account and prints the application stack's CloudFormation template as JSON.
 * The cloud assembly (all templates, the nag report) is written to infra/cdk.out.
 */
function parseContext(argv: string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const pair = arg === '-c' || arg === '--context' ? argv[++i] : undefined;
    const match = /^([^=]+)=(.*)$/.exec(pair ?? '');
    if (!match?.[1] || match[2] === undefined) {
      throw new Error(`Unexpected argument "${pair ?? arg}": use -c key=value`);
    }
    context[match[1]] = match[2];
  }
  return context;
}

const outdir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cdk.out');
const app = buildApp({ outdir, context: parseContext(process.argv.slice(2)) });
const assembly = app.synth();
const stacks = assembly.stacks.filter((stack) => !stack.stackName.endsWith('-Prerequisites'));
for (const stack of stacks) {
  process.stdout.write(`${JSON.stringify(stack.template, null, 2)}\n`);
}
process.stderr.write(
  `Synthesized ${assembly.stacks.map((s) => s.stackName).join(', ')} into ${path.relative(process.cwd(), outdir)}\n`,
);
