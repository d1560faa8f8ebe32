import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject } from 'rxjs';
import { createClassifier } from '../../src/detect/classify.js';
import { dedupe, RememberedIds } from '../../src/detect/dedupe.js';
import { emptyStats, type Access, type AccessFlow, type CheckpointMark } from '../../src/detect/types.js';
import { activity, at, detection } from './helpers.js';

const classifier = createClassifier(detection());
const access = (id: string, time: number, crossDomain = false): Access =>
  classifier(activity({ id, creation_time: time, external_access: crossDomain })) as Access;
const checkpoint = (): CheckpointMark => ({
  kind: 'checkpoint',
  id: 1,
  watermark: 0,
  neededFrom: Infinity,
  stats: emptyStats(),
  branches: 0,
});

describe('dedupe', () => {
  it('passes each record id once and counts the repeats', () => {
    const input = new Subject<AccessFlow>();
    const passed: string[] = [];
    input.pipe(dedupe()).subscribe((flow) => flow.kind === 'access' && passed.push(flow.id));
    for (let i = 0; i < 25; i++) input.next(access('same', at('12:00')));
    input.next(access('other', at('12:01'), true));
    const mark = checkpoint();
    input.next(mark);
    assert.deepEqual(passed, ['same', 'other']);
    assert.equal(mark.stats.duplicates, 24);
    assert.equal(mark.stats.nonOwner, 2);
    assert.equal(mark.stats.crossDomain, 1);
    assert.equal(mark.stats.rememberedIds, 2);
  });

  it('forgets ids the watermark has passed', () => {
    const input = new Subject<AccessFlow>();
    input.pipe(dedupe()).subscribe();
    input.next(access('a', at('12:00')));
    input.next(access('b', at('12:30')));
    input.next({ kind: 'watermark', time: at('12:10') });
    let mark = checkpoint();
    input.next(mark);
    assert.equal(mark.stats.rememberedIds, 1);
    input.next({ kind: 'watermark', time: at('13:00') });
    mark = checkpoint();
    input.next(mark);
    assert.equal(mark.stats.rememberedIds, 0);
  });
});

describe('RememberedIds', () => {
  it('admits an id once until the watermark passes its event time, and reports its counters', () => {
    const ids = new RememberedIds();
    assert.equal(ids.admit(access('a', at('12:00'))), true);
    assert.equal(ids.admit(access('a', at('12:00'))), false);
    assert.equal(ids.admit(access('b', at('12:05'), true)), true);
    ids.forget(at('12:00')); // 12:00 is not below the watermark: remembered
    assert.equal(ids.admit(access('a', at('12:00'))), false);
    ids.forget(at('12:01'));
    const stats = emptyStats();
    ids.report(stats);
    assert.deepEqual(
      [stats.duplicates, stats.nonOwner, stats.crossDomain, stats.rememberedIds],
      [2, 2, 1, 1],
    );
    assert.equal(ids.admit(access('a', at('12:00'))), true); // forgotten (the watermark stage drops it as late)
    ids.clear();
    ids.report(stats);
    assert.equal(stats.rememberedIds, 0);
  });
});
