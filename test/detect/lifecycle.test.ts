/** Issue 13: an alert opens at the threshold, grows with its episode, and closes with the final totals. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import type { CoreInput } from '../../src/detect/types.js';
import type { MailboxAccessAlert } from '../../src/model/alert.js';
import { alertSchema, alertType } from '../../src/model/schemas.js';
import { activity, at, onlyRule, reads, run } from './helpers.js';

/** Everything after the records is quiet: the watermark moves past every episode. */
const QUIET: CoreInput = { kind: 'watermark', time: Number.POSITIVE_INFINITY };

const summary = (alerts: MailboxAccessAlert[]) =>
  alerts.map((a) => `${a.revision} ${a.status} ${a.event_count}/${a.distinct_mailbox_count} ${a.severity}`);

describe('alert lifecycle', () => {
  it('a sweep of 12 mailboxes in 6 minutes: open at 10, closed at 12, under one id', () => {
    const sweep = Array.from({ length: 12 }, (_, i) =>
      activity({
        creation_time: at('12:00:00') + i * 30_000,
        mailbox_guid: `mbx-${i}`,
        mailbox_owner_upn: `user${i}@contoso.com`,
        mailbox_owner_sid: `S-1-5-21-${1_000 + i}`,
      }),
    );
    const { revisions } = run(onlyRule('mailboxSweep', 10, '10m'), [...sweep, QUIET]);
    assert.deepEqual(summary(revisions), ['0 open 10/10 high', '1 closed 12/12 high']);
    const [open, closed] = revisions as [MailboxAccessAlert, MailboxAccessAlert];
    assert.equal(closed.alert_id, open.alert_id);
    assert.equal(closed.first_seen, at('12:00:00'));
    assert.equal(closed.last_seen, at('12:05:30'));
    assert.equal(closed.duration_ms, 5.5 * 60_000);
    assert.equal(closed.detected_at, at('12:05:30') + 10 * 60_000, 'quiet for T after the last record');
    assert.equal(closed.mailboxes.length, 12);
  });

  it('a burst of 200 reads: open at 20, updates as it doubles (40, 80, 160), closed at 200', () => {
    const burst = reads(200, at('12:00:00'), at('12:00:00') + 199 * 3_000);
    const { revisions } = run(onlyRule('nonOwnerBurst', 20, '5m'), [...burst, QUIET]);
    assert.deepEqual(summary(revisions), [
      '0 open 20/1 medium',
      '1 update 40/1 high',
      '2 update 80/1 high',
      '3 update 160/1 critical',
      '4 closed 200/1 critical',
    ]);
    assert.equal(new Set(revisions.map((a) => a.alert_id)).size, 1);
    const closed = revisions[4]!;
    assert.equal(closed.duration_ms, 199 * 3_000);
    assert.equal(closed.operations[0]?.count, 200);
    assert.equal(closed.sample_record_ids.length, 20, 'the first 10 and the latest 10');
    assert.equal(closed.sample_record_ids[19], burst[199]!.id);
    assert.equal(revisions[1]!.detected_at, burst[39]!.creation_time, 'an update leaves with its record');
  });

  it('an episode still going has no close; two episodes an hour apart are two ids, each closed', () => {
    const config = onlyRule('nonOwnerBurst', 20, '5m');
    const first = reads(25, at('12:00:00'), at('12:01:00'));
    const second = reads(25, at('13:00:00'), at('13:01:00'));
    assert.deepEqual(
      run(config, first).revisions.map((a) => a.status),
      ['open'],
      'no watermark past it yet',
    );
    const { revisions } = run(config, [...first, ...second, QUIET]);
    assert.deepEqual(
      revisions.map((a) => `${a.status} ${a.event_count}`),
      ['open 20', 'open 20', 'closed 25', 'closed 25'],
    );
    assert.notEqual(revisions[0]!.alert_id, revisions[1]!.alert_id);
    assert.deepEqual(
      revisions.slice(2).map((a) => a.alert_id),
      revisions.slice(0, 2).map((a) => a.alert_id),
    );
  });

  it('the same input gives the same revisions, content and all', () => {
    const burst = reads(90, at('12:00:00'), at('12:04:00'));
    const config = onlyRule('nonOwnerBurst', 20, '5m');
    assert.deepEqual(run(config, [...burst, QUIET]).revisions, run(config, [...burst, QUIET]).revisions);
  });

  it("today's alert readers read every revision: status, revision and duration_ms are skipped", () => {
    const before = avro.Type.forSchema({
      ...alertSchema,
      fields: (alertSchema.fields as { name: string }[]).filter(
        (field) => !['status', 'revision', 'duration_ms'].includes(field.name),
      ),
    } as avro.Schema);
    const burst = reads(45, at('12:00:00'), at('12:02:00'));
    const { revisions } = run(onlyRule('nonOwnerBurst', 20, '5m'), [...burst, QUIET]);
    assert.deepEqual(
      revisions.map((a) => a.status),
      ['open', 'update', 'closed'],
    );
    for (const alert of revisions) {
      const read = before.fromBuffer(
        alertType.toBuffer(alert),
        before.createResolver(alertType),
      ) as MailboxAccessAlert;
      assert.equal(read.alert_id, alert.alert_id);
      assert.equal(read.event_count, alert.event_count);
      assert.equal('status' in read, false);
    }
    // And new readers read old alerts as an open revision 0.
    const old = before.toBuffer({
      ...revisions[0]!,
      status: undefined,
      revision: undefined,
      duration_ms: undefined,
    });
    const read = alertType.fromBuffer(old, alertType.createResolver(before)) as MailboxAccessAlert;
    assert.equal(read.status, 'open');
    assert.equal(read.revision, 0);
  });
});
