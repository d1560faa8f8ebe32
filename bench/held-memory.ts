/**
 * The heap the detection core needs per record its windows hold (issue 15: a restart replays, and `run`
 * keeps, every non-owner access of `allowedLateness` + the longest window). Feeds N generated records,
 * all within the lateness horizon, each parsed from its own JSON text (fresh strings, as a decoder gives
 * them), through the core; then reads the heap (after two forced collections) with the core's state and
 * again once its unsubscribe freed it, and divides the difference by the records held.
 *
 *   node --expose-gc --import tsx bench/held-memory.ts [--records 500000] [--minutes 60]
 *
 * Writes .bench/held-memory.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Subject } from 'rxjs';
import { defaultConfig } from '../src/config/load.js';
import { detect } from '../src/detect/detect.js';
import { parseRecord } from '../src/detect/parse-record.js';
import type { CoreInput, CoreOutput } from '../src/detect/types.js';
import { generateActivity } from './generate.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const records = Number(arg('--records', '500000'));
const minutes = Number(arg('--minutes', '60'));
const texts = [...generateActivity({ records, durationMs: minutes * 60_000 })].map((r) => JSON.stringify(r));
type CheckpointOut = Extract<CoreOutput, { kind: 'checkpoint' }>;
let last: CheckpointOut | undefined;
// The input stays open: the core frees its state when its input completes or it is unsubscribed.
const input = new Subject<CoreInput>();
const subscription = input.pipe(detect(defaultConfig().detection)).subscribe((out) => {
  if (out.kind === 'checkpoint') last = out;
});
const started = performance.now();
for (const text of texts) input.next({ kind: 'record', record: parseRecord(JSON.parse(text)) });
input.next({ kind: 'checkpoint', id: 1 });
const seconds = (performance.now() - started) / 1_000;
const withState = heapUsed();
// The core's state is what its unsubscribe frees.
subscription.unsubscribe();
const without = heapUsed();

const stats = (last as CheckpointOut | undefined)?.stats;
const nonOwner = (stats?.nonOwner ?? 0) + (stats?.app ?? 0);
const result = {
  records,
  minutes,
  nonOwner,
  retainedRecords: stats?.retainedRecords ?? 0,
  rememberedIds: stats?.rememberedIds,
  heapGrowthMB: Math.round((withState - without) / 1e5) / 10,
  bytesPerRetained: Math.round((withState - without) / (stats?.retainedRecords ?? 0)),
  bytesPerNonOwner: Math.round((withState - without) / nonOwner),
  recordsPerSecond: Math.round(records / seconds),
};
console.log(JSON.stringify(result));
mkdirSync(new URL('../.bench/', import.meta.url), { recursive: true });
writeFileSync(new URL('../.bench/held-memory.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
void texts; // the texts stay alive through both readings
