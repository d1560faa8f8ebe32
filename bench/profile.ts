/**
 * Summarises CPU profiles (node --cpu-prof, as `bench/kafka.ts --profile <dir>` writes them): self time by
 * area (garbage collection, avsc, kafkajs, the project's src/ by file, node internals, idle) and the
 * functions with the most self time, as shares of the busy time (everything but idle). Node's own functions
 * (Buffer allocation and copies, sockets, module loading) are charged to the nearest caller outside them.
 *
 * `--timeline` prints instead how busy the thread was in each quarter second (% of the samples not idle), to see
 * whether a phase waits (on the broker, say) or computes.
 *
 * `--from S` and `--to S` keep only the samples taken between S seconds after the profile began (a late phase of
 * a long run, when the held state is large).
 *
 *   node --import tsx bench/profile.ts <file.cpuprofile>… [--top 25] [--from S] [--to S] [--timeline]
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function areaOf(frame: ProfileNode['callFrame']): string {
  const { functionName, url } = frame;
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return '(program)';
  if (url.includes('/node_modules/avsc/')) return 'avsc';
  if (url.includes('/node_modules/kafkajs/')) return 'kafkajs';
  if (url.includes('/node_modules/rxjs/')) return 'rxjs';
  if (url.includes('/node_modules/prom-client/')) return 'prom-client';
  if (url.includes('/node_modules/pino')) return 'pino';
  if (url.includes('/node_modules/')) return 'other dependencies';
  const src = url.indexOf('/src/');
  if (src >= 0 && !url.startsWith('node:')) return url.slice(src + 1);
  if (url.startsWith('node:') || url === '') return 'node internals';
  return 'other';
}

function summarise(file: string, top: number, fromS: number, toS: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  /** Node internals are charged to the nearest caller outside them (kafkajs, avsc, src/…). */
  const callerArea = (id: number): string => {
    for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
      const area = areaOf(byId.get(at)!.callFrame);
      if (area !== 'node internals' && area !== 'other' && byId.get(at)!.callFrame.functionName !== '(root)')
        return area;
    }
    return 'no caller';
  };
  const self = new Map<number, number>();
  let at = 0; // µs since the profile began
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= fromS * 1e6 && at < toS * 1e6) self.set(id, (self.get(id) ?? 0) + delta);
  });
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    let area = areaOf(frame);
    if (area === 'node internals') area = `node internals, called from ${callerArea(id)}`;
    total += us;
    if (area === 'idle') {
      idle += us;
      continue;
    }
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${frame.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1)}%`;
  console.log(`\n${basename(file)}: ${(busy / 1e6).toFixed(2)} s busy of ${(total / 1e6).toFixed(2)} s`);
  console.log('  by area (self time, share of busy):');
  for (const [area, us] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 20))
    console.log(`    ${pct(us).padStart(6)}  ${area}`);
  console.log(`  top ${top} functions:`);
  for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`    ${pct(us).padStart(6)}  ${name}`);
}

/** Busy share per quarter second: `seconds:percent`, 16 to a line. */
function timeline(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const idleIds = new Set(
    profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
  );
  const quarters: { busy: number; all: number }[] = [];
  let at = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    const q = (quarters[Math.floor(at / 250_000)] ??= { busy: 0, all: 0 });
    q.all += delta;
    if (!idleIds.has(id)) q.busy += delta;
  });
  const cells = quarters.map(
    (q, i) =>
      `${(i / 4).toFixed(2)}:${q === undefined || q.all === 0 ? '-' : Math.round((100 * q.busy) / q.all)}`,
  );
  console.log(`\n${basename(file)}: busy % per quarter second`);
  for (let i = 0; i < cells.length; i += 16) console.log(`  ${cells.slice(i, i + 16).join(' ')}`);
}

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const top = option('--top', 25);
const fromS = option('--from', 0);
const toS = option('--to', Number.POSITIVE_INFINITY);
for (const file of args.filter((a) => a.endsWith('.cpuprofile')))
  if (args.includes('--timeline')) timeline(file);
  else summarise(file, top, fromS, toS);
