/**
 * first_access's memory: what one remembered (mailbox, actor) pair costs, and the RSS of a process that
 * remembers a million of them (issue 10).
 *
 *   empty   the process with the core built and nothing fed: the floor the others are measured against
 *   engine  the rule's engine alone, fed accesses of N distinct pairs
 *   core    the whole detection core (first_access the only rule on), fed N records of N distinct pairs
 *
 * Pairs: 20,000 mailboxes (GUIDs) and 50,000 actors (UPNs of 26 characters; `--actors` for more), each
 * record with fresh strings, as decoding makes them; one record every 2 s of event time, so 1M records span 23 days —
 * within the 30-day lookback: nothing expires, every pair is held. Heap is read after two forced
 * collections; bytes per pair = (heap after − heap before) ÷ pairs. Each case runs in its own child
 * process (--expose-gc), so each RSS is its own. Prints a table and writes .bench/first-access.json.
 *
 *   node --import tsx bench/first-access.ts [--pairs 1000000] [--actors 50000]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Subject } from 'rxjs';
import { parseConfig } from '../src/config/load.js';
import { detect } from '../src/detect/detect.js';
import { createFirstAccessEngine } from '../src/detect/first-access.js';
import type { Access, CoreInput, StateChange } from '../src/detect/types.js';
import type { ExchangeMailboxActivity } from '../src/model/activity.js';

type CaseName = 'empty' | 'engine' | 'core';
const CASES: readonly CaseName[] = ['empty', 'engine', 'core'];
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MAILBOXES = 20_000;
/** Actors (`--actors`); coprime with STRIDE, so pair i's actor differs for every i that shares a mailbox. */
const ACTORS = Number(argument('actors') ?? 50_000);
const STRIDE = 10_997;
const START = Date.UTC(2024, 2, 1);
const STEP_MS = 2_000;

interface CaseResult {
  name: CaseName;
  pairs: number;
  ms: number;
  heapBeforeMb: number;
  heapAfterMb: number;
  bytesPerPair: number | null;
  rssMb: number;
  peakRssMb: number;
}

const mailboxOf = (i: number) =>
  `${(i % MAILBOXES).toString(16).padStart(8, '0')}-4b1e-4c7d-9a2f-0c5e8d3b7a61`;
function actorOf(i: number): string {
  const a = ((i % MAILBOXES) + STRIDE * Math.floor(i / MAILBOXES)) % ACTORS;
  return `delegate.${a.toString().padStart(7, '0')}@contoso.com`;
}

const TEMPLATE: ExchangeMailboxActivity = {
  id: '',
  record_type: 50,
  creation_time: 0,
  operation: 'MailItemsAccessed',
  organization_id: 'org-1',
  user_type: 0,
  user_key: 'k',
  workload: 'Exchange',
  result_status: 'Succeeded',
  object_id: null,
  user_id: '',
  client_ip: '203.0.113.7',
  scope: null,
  logon_type: 1,
  internal_logon_type: 1,
  mailbox_guid: '',
  mailbox_owner_upn: null,
  mailbox_owner_sid: 'S-1-5-21-100',
  mailbox_owner_master_account_sid: null,
  logon_user_sid: 'S-1-5-21-200',
  logon_user_display_name: null,
  external_access: false,
  originating_server: null,
  organization_name: null,
  client_info_string: null,
  client_ip_address: null,
  client_machine_name: null,
  client_process_name: null,
  client_version: null,
  app_id: null,
  client_app_id: null,
  api_id: null,
  mail_access_type: null,
  is_throttled: null,
  operation_count: null,
  session_id: null,
  folder_paths: null,
  unique_token_id: null,
};

function record(i: number): ExchangeMailboxActivity {
  return {
    ...TEMPLATE,
    id: `r-${i}`,
    creation_time: START + i * STEP_MS,
    user_id: actorOf(i),
    mailbox_guid: mailboxOf(i),
  };
}

function access(i: number): Access {
  const mailbox = mailboxOf(i);
  const actor = actorOf(i);
  return {
    kind: 'access',
    record: TEMPLATE,
    id: `r-${i}`,
    time: START + i * STEP_MS,
    actor,
    actorDomain: 'contoso.com',
    mailbox,
    ownerUpn: null,
    pairKey: `${mailbox}\n${actor}`,
    crossDomain: false,
    app: false,
    owner: false,
  };
}

function collect(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function runCase(name: CaseName, pairs: number): CaseResult {
  const config = parseConfig({
    detection: {
      rules: Object.fromEntries(
        [
          'nonOwnerBurst',
          'crossDomainBurst',
          'mailboxSweep',
          'appMailboxSweep',
          'bulkMailAccess',
          'firstAppAccess',
        ].map((rule) => [rule, { enabled: false }]),
      ),
    },
  }).detection;
  const changes: StateChange[] = [];
  const engine = createFirstAccessEngine(config.rules.firstAccess, changes);
  const input = new Subject<CoreInput>();
  let changed = 0;
  const subscription = input.pipe(detect(config)).subscribe((output) => {
    if (output.kind === 'state') changed++;
  });
  const before = collect();
  const start = performance.now();
  let fed = 0;
  if (name === 'engine') {
    for (let i = 0; i < pairs; i++) {
      engine.add(access(i));
      changes.length = 0; // the pipeline would send them to the changelog
      if (i % 10_000 === 0) engine.advance(START + i * STEP_MS - 7_200_000);
    }
    fed = engine.remembered;
  } else if (name === 'core') {
    for (let i = 0; i < pairs; i++) input.next({ kind: 'record', record: record(i) });
    input.next({ kind: 'checkpoint', id: 1 });
    fed = changed - 1; // one change per new pair, and the learning start
  }
  const ms = performance.now() - start;
  const after = collect();
  const result: CaseResult = {
    name,
    pairs: fed,
    ms: Math.round(ms),
    heapBeforeMb: mb(before),
    heapAfterMb: mb(after),
    bytesPerPair: fed === 0 ? null : Math.round(((after - before) / fed) * 10) / 10,
    rssMb: mb(process.memoryUsage().rss),
    peakRssMb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
  };
  if (fed !== (name === 'empty' ? 0 : pairs)) throw new Error(`${name}: ${fed} pairs held, ${pairs} fed`);
  subscription.unsubscribe();
  return result;
}

const mb = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;

function runChild(name: CaseName, pairs: number): Promise<CaseResult> {
  return new Promise((resolve, reject) => {
    const args = [
      '--expose-gc',
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--case',
      name,
      '--pairs',
      String(pairs),
      '--actors',
      String(ACTORS),
    ];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`bench case ${name} exited with ${code}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop() as string) as CaseResult);
    });
  });
}

function table(pairs: number, cases: CaseResult[]): string {
  const rows = cases.map((c) => [
    c.name,
    c.pairs.toLocaleString('en'),
    `${(c.ms / 1000).toFixed(2)} s`,
    `${c.heapBeforeMb} → ${c.heapAfterMb} MB`,
    c.bytesPerPair === null ? '' : `${c.bytesPerPair} B`,
    `${c.rssMb} MB`,
    `${c.peakRssMb} MB`,
  ]);
  const header = ['case', 'pairs', 'time', 'heap (after gc)', 'per pair', 'RSS', 'peak RSS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
      .join('  ');
  return [
    '',
    `first_access memory — ${pairs.toLocaleString('en')} distinct pairs of ${MAILBOXES.toLocaleString('en')} mailboxes and ${ACTORS.toLocaleString('en')} actors, node ${process.version}`,
    line(header),
    ...rows.map(line),
    '',
  ].join('\n');
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const pairs = Number(argument('pairs') ?? 1_000_000);
  const name = argument('case') as CaseName | undefined;
  if (name !== undefined) {
    process.stdout.write(`${JSON.stringify(runCase(name, pairs))}\n`);
  } else {
    const cases: CaseResult[] = [];
    for (const c of CASES) cases.push(await runChild(c, pairs));
    console.log(table(pairs, cases));
    const out = join(ROOT, '.bench', 'first-access.json');
    mkdirSync(join(out, '..'), { recursive: true });
    const result = { pairs, mailboxes: MAILBOXES, actors: ACTORS, node: process.version, cases };
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`results: ${out}`);
  }
}
