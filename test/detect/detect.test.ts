import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseRecord } from '../../src/detect/parse-record.js';
import type { CoreInput } from '../../src/detect/types.js';
import { activity, at, detection, onlyRule, reads, run, shuffled } from './helpers.js';

const HOUR = 3_600_000;

describe('detect', () => {
  it('raises no alert on the ten real Sentinel rows (owner and SYSTEM traffic)', () => {
    const rows = readFileSync(
      new URL('../fixtures/sentinel-officeactivity-exchange.ndjson', import.meta.url),
      'utf8',
    )
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => parseRecord(JSON.parse(line)));
    // Even with thresholds of 1, nothing is non-owner.
    const eager = detection({
      rules: {
        nonOwnerBurst: { threshold: 1 },
        crossDomainBurst: { threshold: 1 },
        mailboxSweep: { threshold: 1 },
      },
    });
    const { alerts, stats } = run(eager, rows);
    assert.equal(alerts.length, 0);
    assert.equal(stats.records, 10);
    assert.equal(stats.owner, 7);
    assert.equal(stats.system, 3);
    assert.equal(stats.nonOwner, 0);
  });

  it('with lateness judged upstream, drops nothing behind the watermark (the actor side of run)', () => {
    // Behind the repartition, how far the watermark has got depends on how fetches interleaved partitions;
    // each record was judged on time against its own mailbox partition before it got here.
    const records = reads(20, at('12:00:00'), at('12:01:00'));
    const inputs = [{ kind: 'watermark' as const, time: at('13:00:00') }, ...records];
    const dropped = run(detection(), inputs, { watermarks: 'external' });
    assert.equal(dropped.alerts.length, 0);
    assert.equal(dropped.stats.late, 20);
    const kept = run(detection(), inputs, { watermarks: 'external', lateness: 'upstream' });
    assert.deepEqual(
      kept.alerts.map((a) => a.rule),
      ['non_owner_burst'],
    );
    assert.equal(kept.stats.late, 0);
    assert.equal(kept.stats.records, 20);
  });

  it('runs the three rules side by side', () => {
    const records = reads(20, at('12:00:00'), at('12:01:00'), {
      user_id: 'mallory@fabrikam.com',
      logon_user_sid: 'S-1-5-21-900',
    });
    const { alerts, stats } = run(detection(), records);
    assert.deepEqual(alerts.map((a) => a.rule).sort(), ['cross_domain_burst', 'non_owner_burst']);
    assert.deepEqual(stats.alerts, {
      non_owner_burst: 1,
      cross_domain_burst: 1,
      mailbox_sweep: 0,
      app_mailbox_sweep: 0,
      bulk_mail_access: 0,
      first_app_access: 0,
      first_access: 0,
    });
  });

  it('reads the PascalCase shape through parseRecord to the same alert', () => {
    const pascal = Array.from({ length: 20 }, (_, i) =>
      parseRecord({
        Id: `p-${i}`,
        CreationTime: new Date(at('12:00:00') + i * 1000).toISOString().slice(0, 19),
        RecordType: 'ExchangeItemAggregated',
        Operation: 'MailItemsAccessed',
        OrganizationId: 'org-1',
        UserType: 'Regular',
        UserKey: 'k',
        UserId: 'Eve@Contoso.com',
        ClientIP: '203.0.113.7',
        LogonType: 'Delegated',
        MailboxGuid: 'MBX-CEO',
        MailboxOwnerUPN: 'ceo@contoso.com',
        MailboxOwnerSid: 'S-1-5-21-100',
        LogonUserSid: 'S-1-5-21-200',
      }),
    );
    const { alerts } = run(onlyRule('nonOwnerBurst', 20, '5m'), pascal);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.mailbox_guid, 'mbx-ceo');
    assert.equal(alerts[0]?.detected_at, at('12:00:19'));
  });

  it('gives the same alert ids for the same input in the same order', () => {
    const input = [
      ...reads(30, at('12:00:00'), at('12:02:00'), {
        user_id: 'mallory@fabrikam.com',
        logon_user_sid: 'S-1-5-21-900',
      }),
      ...reads(25, at('13:00:00'), at('13:02:00')),
    ];
    const first = run(detection(), input).alerts.map((a) => a.alert_id);
    const second = run(
      detection(),
      input.map((r) => ({ ...r })),
    ).alerts.map((a) => a.alert_id);
    assert.equal(first.length, 3);
    assert.deepEqual(second, first);
    assert.equal(new Set(first).size, 3);
  });

  it('frees state once the watermark has passed it: no open keys, neededFrom +Infinity', () => {
    const records = [
      ...reads(25, at('12:00:00'), at('12:01:00')),
      ...reads(3, at('12:10:00'), at('12:11:00'), { user_id: 'bob@contoso.com' }),
    ];
    const inputs: CoreInput[] = records.map((record) => ({ kind: 'record', record }));
    inputs.push({ kind: 'checkpoint', id: 1 });
    // Held records stay until the watermark passes them by 2T (episode.ts, "floor"): T is 10 min.
    inputs.push({ kind: 'watermark', time: at('12:11:00') + 21 * 60_000 });
    const { outputs, final } = run(detection(), inputs);
    const held = outputs.find((o) => o.kind === 'checkpoint' && o.id === 1);
    assert.ok(held?.kind === 'checkpoint');
    assert.equal(held.neededFrom, at('12:00:00'));
    assert.ok(held.stats.openKeys > 0);
    assert.ok(held.stats.retainedRecords > 0);
    assert.ok(held.stats.rememberedIds > 0);
    assert.equal(held.watermark, at('12:11:00') - 2 * HOUR);
    assert.equal(final.neededFrom, Infinity);
    assert.equal(final.stats.openKeys, 0);
    assert.equal(final.stats.retainedRecords, 0);
    assert.equal(final.stats.rememberedIds, 0);
    assert.equal(final.watermark, at('12:32:00'));
  });

  it('keeps neededFrom at the start of an open episode while the burst goes on', () => {
    const inputs: CoreInput[] = reads(200, at('12:00:00'), at('12:20:00')).map((record) => ({
      kind: 'record',
      record,
    }));
    inputs.push({ kind: 'watermark', time: at('12:18:00') });
    const { final, alerts } = run(onlyRule('nonOwnerBurst', 20, '5m'), inputs, { watermarks: 'external' });
    assert.equal(alerts.length, 1);
    assert.equal(final.neededFrom, at('12:00:00'));
    assert.equal(final.stats.retainedRecords, 0); // the episode took the burst's records in
    assert.equal(final.stats.openKeys, 1);
  });

  it('never reports neededFrom above a held record, with records out of order', () => {
    const records = shuffled(
      [
        ...reads(15, at('12:00:00'), at('12:30:00')),
        ...reads(15, at('12:00:00'), at('12:30:00'), { user_id: 'bob@contoso.com' }),
      ],
      3,
    );
    const inputs: CoreInput[] = [];
    for (const [i, record] of records.entries()) {
      inputs.push({ kind: 'record', record }, { kind: 'checkpoint', id: i });
    }
    const { outputs } = run(onlyRule('nonOwnerBurst', 20, '5m'), inputs, { watermarks: 'external' });
    let earliest = Infinity;
    for (const [i, output] of outputs.entries()) {
      if (output.kind !== 'checkpoint' || output.id === 999) continue;
      earliest = Math.min(earliest, (records[output.id] as (typeof records)[number]).creation_time);
      assert.ok(
        output.neededFrom <= earliest,
        `checkpoint ${i}: neededFrom ${output.neededFrom} > ${earliest}`,
      );
    }
  });

  it('answers a checkpoint after the alerts its records caused', () => {
    const inputs: CoreInput[] = reads(20, at('12:00:00'), at('12:01:00')).map((record) => ({
      kind: 'record',
      record,
    }));
    inputs.push({ kind: 'checkpoint', id: 5 });
    const { outputs } = run(onlyRule('nonOwnerBurst', 20, '5m'), inputs);
    assert.deepEqual(
      outputs.map((o) =>
        o.kind === 'alert' ? 'alert' : o.kind === 'checkpoint' ? `checkpoint ${o.id}` : o.kind,
      ),
      ['alert', 'checkpoint 5', 'checkpoint 999'],
    );
  });

  it('counts every record in exactly one class', () => {
    const records = [
      ...reads(5, at('12:00:00'), at('12:01:00')),
      activity({ logon_user_sid: 'S-1-5-21-100' }),
      activity({ logon_type: 3 }),
      activity({ mailbox_guid: null, mailbox_owner_upn: null }),
      activity({ user_id: 'svc@contoso.com' }),
      activity({ id: 'rec-dup', creation_time: at('12:02:00') }),
      activity({ id: 'rec-dup', creation_time: at('12:02:00') }),
      activity({ creation_time: at('15:00:00'), user_id: 'far@contoso.com' }),
      activity({ creation_time: at('12:30:00') }),
    ];
    const { stats } = run(detection({ allowlist: { actors: ['svc@contoso.com'] } }), records);
    assert.equal(stats.records, 13);
    assert.deepEqual(
      {
        late: stats.late,
        owner: stats.owner,
        system: stats.system,
        unattributable: stats.unattributable,
        allowListed: stats.allowListed,
        duplicates: stats.duplicates,
        nonOwner: stats.nonOwner,
      },
      { late: 1, owner: 1, system: 1, unattributable: 1, allowListed: 1, duplicates: 1, nonOwner: 7 },
    );
  });

  it('runs with every rule disabled', () => {
    const none = detection({
      rules: {
        nonOwnerBurst: { enabled: false },
        crossDomainBurst: { enabled: false },
        mailboxSweep: { enabled: false },
      },
    });
    const { alerts, stats } = run(none, reads(50, at('12:00:00'), at('12:01:00')));
    assert.equal(alerts.length, 0);
    assert.equal(stats.nonOwner, 50);
  });
});

describe('detect over generated traffic', () => {
  it('finds exactly the injected bursts among 60 000 records of background traffic', async () => {
    const { generateActivity, injectedBursts } = await import('../../bench/generate.js');
    const options = { records: 60_000, injections: 2, seed: 7 };
    const { alerts, stats } = run(detection(), [...generateActivity(options)]);
    const expected = injectedBursts(options).map((b) => `${b.rule} ${b.actor}`);
    assert.deepEqual(alerts.map((a) => `${a.rule} ${a.actor_user_id}`).sort(), expected.sort());
    assert.ok(stats.owner > 45_000);
    assert.ok(stats.system > 1_000);
    assert.ok(stats.duplicates > 0);
  });
});
