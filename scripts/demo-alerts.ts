/**
 * `make demo`'s alert view and summary (scripts/demo.sh):
 *
 *   mailbox-radar tail --json … | node --import tsx scripts/demo-alerts.ts MANIFEST ALERTS_NDJSON SUMMARY
 *
 * Prints each alert once, as `tail` does, keeps every delivery in ALERTS_NDJSON, and at the end of its input
 * writes injected vs detected per rule (simulate's MANIFEST against the alerts) to SUMMARY. Alerts count by
 * distinct alert_id: with several instances a rebalance may deliver an alert twice, with the same id, and
 * that is one alert, not an unexpected one. Exit 1 when an injected attack has no alert.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startOfLine } from '../src/cli/progress.js';
import { formatAlert } from '../src/cli/tail.js';
import type { MailboxAccessAlert } from '../src/model/alert.js';
import { allDetected, compareWithManifest, formatComparison } from '../src/simulate/compare.js';
import type { Manifest } from '../src/simulate/simulation.js';

const [manifestFile, alertsFile, summaryFile] = process.argv.slice(2);
if (summaryFile === undefined) {
  console.error('usage: demo-alerts.ts MANIFEST ALERTS_NDJSON SUMMARY (tail --json lines on stdin)');
  process.exit(2);
}

const distinct = new Map<string, MailboxAccessAlert>();
let received = 0;
writeFileSync(alertsFile!, '');
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim() === '') continue;
  appendFileSync(alertsFile!, `${line}\n`);
  received++;
  const json = JSON.parse(line) as Omit<MailboxAccessAlert, 'first_seen' | 'last_seen' | 'detected_at'> &
    Record<'first_seen' | 'last_seen' | 'detected_at', string>;
  if (distinct.has(json.alert_id)) continue; // a redelivery: already printed, already counted
  const alert: MailboxAccessAlert = {
    ...json,
    first_seen: Date.parse(json.first_seen),
    last_seen: Date.parse(json.last_seen),
    detected_at: Date.parse(json.detected_at),
  };
  distinct.set(alert.alert_id, alert);
  // On the terminal, simulate's progress line may be on screen without its newline: clear it first.
  process.stdout.write(`${startOfLine(process.stdout)}${formatAlert(alert)}\n`);
}

const manifest = JSON.parse(readFileSync(manifestFile!, 'utf8')) as Pick<Manifest, 'attacks'>;
const comparison = compareWithManifest(manifest, distinct.values());
const redelivered = received - distinct.size;
writeFileSync(
  summaryFile,
  `${formatComparison(comparison)}` +
    `${received} alert${received === 1 ? '' : 's'} received, ${distinct.size} distinct alert_id${distinct.size === 1 ? '' : 's'} ` +
    `(${redelivered} redelivered)\n`,
);
process.exitCode = allDetected(comparison) ? 0 : 1;
