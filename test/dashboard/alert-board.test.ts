import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertBoard } from '../../src/dashboard/alert-board.js';
import { sampleAlert } from './support.js';

const at = (minute: number) => Date.UTC(2026, 10, 25, 9, minute);

describe('AlertBoard', () => {
  it('one entry per alert_id, the latest detected first', () => {
    const board = new AlertBoard(10);
    board.add(sampleAlert({ alert_id: 'a', detected_at: at(1) }));
    board.add(sampleAlert({ alert_id: 'b', detected_at: at(3) }));
    board.add(sampleAlert({ alert_id: 'c', detected_at: at(2) }));
    assert.deepEqual(
      board.entries().map((e) => e.alert_id),
      ['b', 'c', 'a'],
    );
  });

  it('the latest revision is the current state, the earlier ones its history, whatever the order they came in', () => {
    const board = new AlertBoard(10);
    const open = sampleAlert({ alert_id: 'a', status: 'open', revision: 0, event_count: 20 });
    const update = sampleAlert({ alert_id: 'a', status: 'update', revision: 1, event_count: 40 });
    const closed = sampleAlert({ alert_id: 'a', status: 'closed', revision: 2, event_count: 57 });
    board.add(open);
    board.add(closed);
    const change = board.add(update);
    assert.equal(board.size, 1);
    assert.equal(change?.entry?.current, closed);
    assert.deepEqual(
      change?.entry?.revisions.map((r) => r.status),
      ['open', 'update', 'closed'],
    );
  });

  it('a revision held already is a duplicate: no change', () => {
    const board = new AlertBoard(10);
    assert.ok(board.add(sampleAlert({ alert_id: 'a', revision: 1 })));
    assert.equal(board.add(sampleAlert({ alert_id: 'a', revision: 1 })), undefined);
    // Alerts of writers before the lifecycle have no revision: the same id twice is one alert.
    assert.ok(board.add(sampleAlert({ alert_id: 'b' })));
    assert.equal(board.add(sampleAlert({ alert_id: 'b', revision: undefined })), undefined);
    assert.equal(board.entries().find((e) => e.alert_id === 'a')?.revisions.length, 1);
  });

  it('keeps at most `capacity` alerts: the one detected earliest goes, and says so', () => {
    const board = new AlertBoard(2);
    board.add(sampleAlert({ alert_id: 'a', detected_at: at(5) }));
    board.add(sampleAlert({ alert_id: 'b', detected_at: at(1) }));
    const change = board.add(sampleAlert({ alert_id: 'c', detected_at: at(3) }));
    assert.deepEqual(change?.evicted, ['b']);
    assert.equal(change?.entry?.alert_id, 'c');
    // Older than all that is kept: dropped at once.
    const old = board.add(sampleAlert({ alert_id: 'd', detected_at: at(0) }));
    assert.deepEqual(old, { entry: undefined, evicted: ['d'] });
    assert.deepEqual(
      board.entries().map((e) => e.alert_id),
      ['a', 'c'],
    );
  });
});
