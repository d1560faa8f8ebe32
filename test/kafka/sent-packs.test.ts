import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SentPacks } from '../../src/kafka/sent-packs.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';

const record = (id: string) => ({ id }) as ExchangeMailboxActivity;

describe('SentPacks', () => {
  it('gives a pack’s records once, where it landed, only for the bytes that were written', () => {
    const packs = new SentPacks();
    const records = [record('a'), record('b')];
    packs.add(0, 41, Buffer.from('pack-41'), records);
    packs.add(1, 41, Buffer.from('other'), [record('c')]);
    assert.equal(packs.take(0, 40, Buffer.from('pack-41')), undefined, 'another offset');
    assert.equal(packs.take(2, 41, Buffer.from('pack-41')), undefined, 'another partition');
    assert.equal(packs.take(0, 41, Buffer.from('pack-41')), records);
    assert.equal(packs.take(0, 41, Buffer.from('pack-41')), undefined, 'taken once');
    // Other bytes at that offset (the topic deleted and created again): decoded as read, and forgotten.
    assert.equal(packs.take(1, 41, Buffer.from('something else')), undefined);
    assert.equal(packs.size, 0);
    assert.equal(packs.take(1, 41, null), undefined);
    assert.equal(packs.hits, 1);
    assert.equal(packs.saved, 2);
  });

  it('keeps at most maxRecords records, dropping the oldest packs', () => {
    const packs = new SentPacks(5);
    for (let offset = 0; offset < 4; offset++)
      packs.add(0, offset, Buffer.from(`p${offset}`), [record(`${offset}a`), record(`${offset}b`)]);
    assert.equal(packs.size, 2, '4 packs of 2 records, at most 5 records: the two newest');
    assert.equal(packs.take(0, 1, Buffer.from('p1')), undefined);
    assert.equal(packs.take(0, 2, Buffer.from('p2'))?.length, 2);
    packs.clear();
    assert.equal(packs.take(0, 3, Buffer.from('p3')), undefined);
  });
});
