#!/usr/bin/env node
// Runs node's built-in test runner over test/**/*.test.ts (unit) or test/**/*.itest.ts (integration),
// with tsx as the TypeScript loader. Node 20's --test takes no globs, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const kind = process.argv[2] ?? 'unit';
const suffix = kind === 'integration' ? '.itest.ts' : '.test.ts';
const extra = process.argv.slice(3);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith(suffix) ? [path] : [];
  });
}

const files = walk('test').sort();
if (files.length === 0) {
  console.error(`no ${kind} test files (*${suffix}) under test/`);
  process.exit(1);
}
const args = ['--import', 'tsx', '--test', '--test-reporter=spec'];
// Integration tests share one broker; run their files one at a time to keep timings sane on 2 cores.
if (kind === 'integration') args.push('--test-concurrency=1');
// A test that hangs (a broker call retrying for minutes) fails with its name instead of stalling the run.
// Node 20 applies the timeout to each file's process too, so it bounds a whole integration file (the
// guarantee and chaos files run for several minutes on a loaded 2-core machine; a unit file that spawns
// the CLI a dozen times, as test/cli/simulate.test.ts does, needs more than a minute there).
args.push(`--test-timeout=${kind === 'integration' ? 600_000 : 180_000}`);
const result = spawnSync(process.execPath, [...args, ...extra, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
