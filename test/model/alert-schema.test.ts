import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { alertToJson, type MailboxAccessAlert } from '../../src/model/alert.js';
import { alertSchema, alertSchemaFor, alertType } from '../../src/model/schemas.js';
import { at, detection, reads, run } from '../detect/helpers.js';

/** The alert schema before the app rules: three rule symbols, no mailbox_blind_until, no reason. */
const before = avro.Type.forSchema({
  ...alertSchema,
  fields: (alertSchema.fields as { name: string; type: unknown }[])
    .filter((field) => field.name !== 'mailbox_blind_until' && field.name !== 'reason')
    .map((field) =>
      field.name === 'rule'
        ? {
            ...field,
            type: {
              type: 'enum',
              name: 'AlertRule',
              symbols: ['non_owner_burst', 'cross_domain_burst', 'mailbox_sweep'],
            },
          }
        : field,
    ),
} as avro.Schema);

const alert: MailboxAccessAlert = {
  alert_id: '0123456789abcdef0123456789abcdef',
  rule: 'non_owner_burst',
  severity: 'medium',
  organization_id: 'org-1',
  mailbox_guid: 'mbx-1',
  mailbox_owner_upn: 'ceo@contoso.com',
  actor_user_id: 'eve@contoso.com',
  actor_sid: null,
  actor_display_name: null,
  actor_domain: 'contoso.com',
  first_seen: Date.UTC(2024, 0, 15, 12),
  last_seen: Date.UTC(2024, 0, 15, 12, 2),
  detected_at: Date.UTC(2024, 0, 15, 12, 2),
  event_count: 20,
  distinct_mailbox_count: 1,
  threshold: 20,
  window_ms: 300_000,
  external_access_seen: false,
  sample_record_ids: ['r-1'],
  client_ips: ['203.0.113.7'],
  operations: [{ operation: 'MailItemsAccessed', count: 20 }],
  mailboxes: ['ceo@contoso.com'],
  mailbox_blind_until: Date.UTC(2024, 0, 16, 11),
  reason: null,
};

describe('MailboxAccessAlert schema with the app rules', () => {
  it("today's readers cannot resolve the full rule list: a writer per topic", () => {
    assert.throws(() => before.createResolver(alertType), /AlertRule/);
  });

  it("today's readers read new alerts of their rules (their topics' writer schema): new fields skipped", () => {
    const writer = avro.Type.forSchema(alertSchemaFor('non_owner_burst') as avro.Schema);
    const read = before.fromBuffer(writer.toBuffer(alert), before.createResolver(writer)) as Record<
      string,
      unknown
    >;
    const newReader = alertType.fromBuffer(writer.toBuffer(alert), alertType.createResolver(writer));
    assert.equal((newReader as MailboxAccessAlert).mailbox_blind_until, alert.mailbox_blind_until);
    assert.equal(read.rule, 'non_owner_burst');
    assert.equal(read.alert_id, alert.alert_id);
    assert.equal('mailbox_blind_until' in read, false);
  });

  it('new readers read alerts of older writers: mailbox_blind_until and reason are null', () => {
    const { mailbox_blind_until: _m, reason: _r, ...old } = alert;
    const read = alertType.fromBuffer(
      before.toBuffer(old),
      alertType.createResolver(before),
    ) as MailboxAccessAlert;
    assert.equal(read.mailbox_blind_until, null);
    assert.equal(read.reason, null);
    assert.equal(read.rule, 'non_owner_burst');
  });

  it('an alert of a new rule is written with the full list, which new readers read', () => {
    const bytes = alertType.toBuffer({ ...alert, rule: 'app_mailbox_sweep' });
    assert.equal((alertType.fromBuffer(bytes) as MailboxAccessAlert).rule, 'app_mailbox_sweep');
  });

  it('as JSON, mailbox_blind_until is ISO-8601 and absent fields are null', () => {
    assert.equal(alertToJson(alert).mailbox_blind_until, '2024-01-16T11:00:00.000Z');
    const { mailbox_blind_until: _m, reason: _r, ...old } = alert;
    assert.equal(alertToJson(old).mailbox_blind_until, null);
    assert.equal(alertToJson(old).reason, null);
  });
});

describe('MailboxAccessAlert schema with policies (issue 10)', () => {
  /** The alert schema as it was before policies: no `policy` field. */
  const today = avro.Type.forSchema({
    ...alertSchema,
    fields: (alertSchema.fields as { name: string }[]).filter((field) => field.name !== 'policy'),
  } as avro.Schema);

  it("today's readers read the alerts a policy decided (every revision): the policy is skipped", () => {
    const config = detection({
      policies: [
        {
          name: 'vip',
          match: { mailboxes: ['ceo@contoso.com'] },
          rules: { nonOwnerBurst: { threshold: 5 } },
        },
      ],
    });
    const { revisions } = run(config, [
      ...reads(12, at('12:00:00'), at('12:01:00')),
      { kind: 'watermark', time: Number.POSITIVE_INFINITY },
    ]);
    assert.deepEqual(
      revisions.map((a) => `${a.status} ${a.policy}`),
      ['open vip', 'update vip', 'closed vip'],
    );
    for (const alert of revisions) {
      const writer = avro.Type.forSchema(alertSchemaFor(alert.rule) as avro.Schema);
      const read = today.fromBuffer(
        writer.toBuffer(alert),
        today.createResolver(writer),
      ) as MailboxAccessAlert;
      assert.equal(read.alert_id, alert.alert_id);
      assert.equal(read.revision, alert.revision);
      assert.equal('policy' in read, false);
    }
  });

  it('new readers read alerts written before policies: policy is null', () => {
    const { policy: _p, ...old } = { ...alert, status: 'open' as const, revision: 0, duration_ms: 120_000 };
    const read = alertType.fromBuffer(
      today.toBuffer(old),
      alertType.createResolver(today),
    ) as MailboxAccessAlert;
    assert.equal(read.policy, null);
    assert.equal(alertToJson(old).policy, null);
    assert.equal(alertToJson({ ...alert, policy: 'vip' }).policy, 'vip');
  });
});

describe('MailboxAccessAlert schema with first_access (issue 10)', () => {
  const symbolsOf = (schema: Record<string, unknown>) =>
    ((schema.fields as { name: string; type: { symbols?: string[] } }[]).find((f) => f.name === 'rule')?.type
      .symbols ?? []) as string[];
  /** Today's schema (before issue 10): the six rules of the app rules' day, no policy. */
  const today = avro.Type.forSchema({
    ...alertSchema,
    fields: (alertSchema.fields as { name: string; type: unknown }[])
      .filter((field) => field.name !== 'policy')
      .map((field) =>
        field.name === 'rule'
          ? {
              ...field,
              type: { type: 'enum', name: 'AlertRule', symbols: symbolsOf(alertSchema).slice(0, 6) },
            }
          : field,
      ),
  } as avro.Schema);

  it('each topic is written with the symbols of its rule’s day: 3, 6, then all 7', () => {
    assert.deepEqual(symbolsOf(alertSchemaFor('mailbox_sweep')), [
      'non_owner_burst',
      'cross_domain_burst',
      'mailbox_sweep',
    ]);
    assert.equal(symbolsOf(alertSchemaFor('first_app_access')).length, 6);
    assert.equal(alertSchemaFor('first_access'), alertSchema);
    assert.equal(symbolsOf(alertSchema).at(-1), 'first_access');
  });

  it("today's readers read every rule they know, on its topic, new alerts included", () => {
    for (const rule of [
      'non_owner_burst',
      'app_mailbox_sweep',
      'bulk_mail_access',
      'first_app_access',
    ] as const) {
      const writer = avro.Type.forSchema(alertSchemaFor(rule) as avro.Schema);
      const read = today.fromBuffer(
        writer.toBuffer({ ...alert, rule, policy: 'vip' }),
        today.createResolver(writer),
      ) as MailboxAccessAlert;
      assert.equal(read.rule, rule);
      assert.equal(read.alert_id, alert.alert_id);
    }
    // first_access's own topic needs the new symbol: a reader of today cannot resolve it (it never subscribed).
    assert.throws(() => today.createResolver(alertType), /AlertRule/);
    const bytes = alertType.toBuffer({ ...alert, rule: 'first_access', status: 'closed', revision: 0 });
    assert.equal((alertType.fromBuffer(bytes) as MailboxAccessAlert).rule, 'first_access');
  });
});
