#!/usr/bin/env node
import { buildApp } from '../lib/app.js';

// The entry point the AWS CDK CLI runs (see infra/cdk.json); context comes from `-c key=value`.
buildApp().synth();
