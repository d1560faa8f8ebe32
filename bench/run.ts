/**
 * `npm run bench`: every benchmark, one after the other (each case in its own child process).
 *
 *   1. bench/core.ts   replay (NDJSON → parse → core) beside a bare JSON.parse loop; the core alone
 *   2. bench/kafka.ts  the Kafka-mode hot path beside a bare avsc decode loop; a 10M-record memory run;
 *                      the pipeline through the broker beside a bare kafkajs consumer; latency at 5k/s
 *
 *   3. bench/scale.ts  1 and 2 instances of `run` in one group, the sweep on and off (the repartition hop's
 *                      cost), beside bare kafkajs consumers of the same topic
 *
 *   4. bench/first-access.ts  first_access's memory: bytes per remembered pair, RSS for 1M pairs
 *
 *   5. bench/held-memory.ts   the core's heap per non-owner access its windows hold
 *
 *   6. bench/changelog-pack.ts  kafkajs's cost per windows' changelog entry, one record each against packed
 *
 *   7. bench/held-path.ts  µs per held access: a restore's replay of the windows' changelog (mailbox side)
 *                          and the actor side's re-read, without the broker
 *
 * The Kafka parts need the local stack (`make stack-up`; `make bench` starts it). Results land in
 * .bench/*.json; BENCHMARKS.md quotes them with the command lines to reproduce each.
 *
 *   npm run bench [-- --quick]     everything (--quick: smaller inputs)
 *   npm run bench -- scale [--runs 3]  bench/scale.ts alone (about 2.5 minutes a run)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const quick = process.argv.includes('--quick');

function run(script: string, args: string[], nodeArgs: string[] = []): void {
  console.log(`\n$ node ${[...nodeArgs, '--import', 'tsx', script, ...args].join(' ')}`);
  const result = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    console.error(`${script} failed (exit ${result.status})`);
    process.exit(1);
  }
}

const scale = quick ? ['--records', '200000'] : [];
if (process.argv.includes('scale')) {
  // What follows `scale` goes to bench/scale.ts: `npm run bench -- scale --runs 3`.
  run('bench/scale.ts', [...scale, ...process.argv.slice(process.argv.indexOf('scale') + 1)]);
  process.exit(0);
}

run('bench/core.ts', quick ? ['--records', '200000', '--runs', '1'] : []);
run(
  'bench/kafka.ts',
  quick
    ? [
        '--hot-records',
        '200000',
        '--long-records',
        '1000000',
        '--broker-records',
        '100000',
        '--latency-seconds',
        '10',
      ]
    : [],
);
run('bench/scale.ts', scale);
run('bench/first-access.ts', quick ? ['--pairs', '200000'] : []);
run('bench/held-memory.ts', quick ? ['--records', '200000'] : [], ['--expose-gc']);
run('bench/changelog-pack.ts', quick ? ['--entries', '50000', '--runs', '1'] : []);
run('bench/held-path.ts', quick ? ['--records', '500000', '--runs', '1'] : []);
