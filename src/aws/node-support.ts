/**
 * The AWS SDK for JavaScript prints a nine-line `NodeVersionSupportWarning` to stderr in every
 * process that builds a client on Node.js below 22: plain text in the middle of the JSON logs.
 * The composition root says it once, as a log line with the fix, and turns the SDK's own text off
 * with the SDK's documented switch (unless the operator set that switch themselves).
 */
import type { Logger } from '../log.js';

/** The SDK's releases after the first week of January 2027 need this major version or later. */
export const AWS_SDK_MIN_NODE_MAJOR = 22;
const SDK_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

export function reportAwsSdkNodeSupport(
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
  version: string = process.version,
): void {
  const major = Number.parseInt(version.replace(/^v/, ''), 10);
  if (!(major < AWS_SDK_MIN_NODE_MAJOR) || env[SDK_SWITCH] !== undefined) return;
  env[SDK_SWITCH] = 'true';
  log.warn(
    { nodeVersion: version },
    `Node.js ${version}: the AWS SDK's releases after the first week of January 2027 need Node.js ${AWS_SDK_MIN_NODE_MAJOR} or later, and Node.js 20 is past its end of life. Run Churnline on Node.js 22 or 24.`,
  );
}
