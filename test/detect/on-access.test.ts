import assert from 'node:assert/strict';
import { test } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import { detect } from '../../src/detect/detect.js';
import type { Access, CoreInput } from '../../src/detect/types.js';
import { ownerNoise } from '../support/records.js';
import { at, detection, reads } from './helpers.js';

test('onAccess gets each admitted non-owner access once: not owners, not duplicates', async () => {
  const nonOwner = reads(3, at('12:00:00'), at('12:02:00'));
  const owners = ownerNoise('own', 2, at('12:01:00'));
  const inputs: CoreInput[] = [...nonOwner, nonOwner[0]!, ...owners].map((record) => ({
    kind: 'record',
    record,
  }));
  const seen: Access[] = [];
  await lastValueFrom(
    from(inputs).pipe(detect(detection(), { onAccess: (access) => seen.push(access) }), toArray()),
  );
  assert.deepEqual(
    seen.map((a) => a.record.id),
    nonOwner.map((r) => r.id),
  );
});

test('onAccess also gets an owner access the core passes on to bulk_mail_access (it is part of the rules’ state)', async () => {
  const [throttled] = ownerNoise('own-throttled', 1, at('12:00:00'));
  const record = { ...throttled!, is_throttled: true };
  const seen: Access[] = [];
  await lastValueFrom(
    from([{ kind: 'record', record } as CoreInput]).pipe(
      detect(detection(), { onAccess: (access) => seen.push(access) }),
      toArray(),
    ),
  );
  assert.deepEqual(
    seen.map((a) => [a.record.id, a.owner]),
    [[record.id, true]],
  );
});
