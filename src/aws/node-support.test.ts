import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { reportAwsSdkNodeSupport } from './node-support.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe("the AWS SDK's Node.js support notice", () => {
  it('is one log line with the fix, and the SDK is asked to keep its own text', () => {
    const { log, lines } = capture();
    const env: NodeJS.ProcessEnv = {};
    reportAwsSdkNodeSupport(log, env, 'v20.20.2');
    expect(env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('true');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toContain('Run Churnline on Node.js 22 or 24');
  });

  it('says nothing on Node.js 22 or later, or when the operator chose for the SDK', () => {
    const { log, lines } = capture();
    const env: NodeJS.ProcessEnv = {};
    reportAwsSdkNodeSupport(log, env, 'v24.11.0');
    reportAwsSdkNodeSupport(log, env, 'v22.1.0');
    expect(env).toEqual({});
    const chosen = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' };
    reportAwsSdkNodeSupport(log, chosen, 'v20.20.2');
    expect(chosen.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('false');
    expect(lines).toEqual([]);
  });
});
