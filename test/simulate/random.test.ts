import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../../src/simulate/random.js';

describe('Random', () => {
  it('gives the same sequence for the same seed, another for another seed', () => {
    const draw = (seed: string) => {
      const r = new Random(seed);
      return Array.from({ length: 20 }, () => r.uint32());
    };
    assert.deepEqual(draw('alpha'), draw('alpha'));
    assert.notDeepEqual(draw('alpha'), draw('beta'));
  });

  it('forks independent streams: drawing from one does not move the other', () => {
    const a = new Random('s');
    const b = new Random('s');
    const forkA = a.fork('x');
    a.uint32();
    a.uint32();
    const forkB = b.fork('x');
    assert.deepEqual([forkA.next(), forkA.next()], [forkB.next(), forkB.next()]);
    assert.notEqual(new Random('s').fork('x').next(), new Random('s').fork('y').next());
  });

  it('stays in range: next in [0,1), int inclusive, sample distinct', () => {
    const r = new Random('range');
    const ints = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const x = r.next();
      assert.ok(x >= 0 && x < 1);
      const n = r.int(3, 7);
      assert.ok(Number.isInteger(n) && n >= 3 && n <= 7);
      ints.add(n);
    }
    assert.deepEqual([...ints].sort(), [3, 4, 5, 6, 7]);
    const sample = r.sample([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 6);
    assert.equal(new Set(sample).size, 6);
    assert.throws(() => r.sample([1, 2], 3), RangeError);
  });

  it('makes version 4 UUIDs in lower case', () => {
    const r = new Random('uuid');
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = r.uuid();
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    assert.equal(ids.size, 1000);
  });

  it('draws weighted choices in proportion', () => {
    const r = new Random('weights');
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 20_000; i++)
      counts[
        r.weighted([
          ['a', 9],
          ['b', 1],
        ] as const)
      ]++;
    assert.ok(Math.abs(counts.a / 20_000 - 0.9) < 0.02, JSON.stringify(counts));
  });
});
