import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { HEAP_WARN_EVERY_MS, HeapWatch } from '../../src/app/heap-watch.js';

function watch() {
  const lines: { fields: Record<string, unknown>; message: string }[] = [];
  const ratios: number[] = [];
  let now = 0;
  const heap = new HeapWatch(
    { warn: (fields, message) => lines.push({ fields: fields as Record<string, unknown>, message }) },
    7_200_000,
    (ratio) => ratios.push(ratio),
    () => now,
  );
  return { heap, lines, ratios, advance: (ms: number) => (now += ms) };
}

describe('HeapWatch', () => {
  it('reports every full collection as a ratio, and is quiet below 80% of the limit', () => {
    const { heap, lines, ratios } = watch();
    assert.equal(heap.afterFullCollection({ used: 790, limit: 1000 }), false);
    assert.deepEqual(ratios, [0.79]);
    assert.equal(heap.liveRatio, 0.79);
    assert.equal(lines.length, 0);
  });

  it('warns past 80%, naming the held records, the heap per record and what to change', () => {
    const { heap, lines } = watch();
    heap.retainedRecords = 2_000_000;
    assert.equal(heap.afterFullCollection({ used: 3_600_000_000, limit: 4_000_000_000 }), true);
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.deepEqual(line!.fields, {
      heapLiveMB: 3600,
      heapLimitMB: 4000,
      retainedRecords: 2_000_000,
      bytesPerRetainedRecord: 1800,
      allowedLatenessMs: 7_200_000,
    });
    assert.match(line!.message, /90% full/);
    assert.match(line!.message, /--max-old-space-size/);
    assert.match(line!.message, /detection\.allowedLateness/);
  });

  it('warns at most once every five minutes', () => {
    const { heap, lines, advance } = watch();
    const full = { used: 950, limit: 1000 };
    assert.equal(heap.afterFullCollection(full), true);
    advance(HEAP_WARN_EVERY_MS - 1);
    assert.equal(heap.afterFullCollection(full), false);
    advance(1);
    assert.equal(heap.afterFullCollection(full), true);
    assert.equal(lines.length, 2);
  });

  it('reads the real heap after a full collection once started', async () => {
    const { heap, ratios } = watch();
    heap.start();
    try {
      // A full collection on demand (what --expose-gc gives), then a turn for the observer's callback.
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      for (let i = 0; ratios.length === 0 && i < 20; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(ratios.length > 0, 'no full collection was seen');
      assert.ok(heap.liveRatio > 0 && heap.liveRatio < 1, `ratio ${heap.liveRatio}`);
    } finally {
      heap.stop();
    }
  });
});
