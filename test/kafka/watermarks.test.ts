import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionWatermarks } from '../../src/kafka/watermarks.js';

const H = 3_600_000;

test('the watermark is the slowest active partition minus the lateness', () => {
  const w = new PartitionWatermarks(2 * H, 30_000);
  w.observe(0, 10 * H, 0);
  w.observe(1, 5 * H, 0);
  assert.equal(w.watermark(1_000), 3 * H);
});

test('an idle partition stops holding the watermark back', () => {
  const w = new PartitionWatermarks(2 * H, 30_000);
  w.observe(0, 10 * H, 0);
  w.observe(1, 5 * H, 0);
  w.observe(0, 11 * H, 40_000);
  assert.equal(w.watermark(40_000), 9 * H, 'partition 1 silent for 40 s');
});

test('an assigned partition that never sent holds the watermark until it is idle', () => {
  const w = new PartitionWatermarks(0, 30_000);
  w.assign(2, 0);
  w.observe(0, 1_000, 0);
  assert.equal(w.watermark(10_000), Number.NEGATIVE_INFINITY);
  w.observe(0, 2_000, 31_000);
  assert.equal(w.watermark(31_000), 2_000);
});

test('the watermark never moves back', () => {
  const w = new PartitionWatermarks(0, 30_000);
  w.observe(0, 5_000, 0);
  assert.equal(w.watermark(0), 5_000);
  w.observe(1, 1_000, 1);
  assert.equal(w.watermark(2), 5_000);
});
