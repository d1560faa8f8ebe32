import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordMetadata, TopicMessages } from 'kafkajs';
import { CoalescingSender } from '../../src/kafka/coalescing-sender.js';

/**
 * A log per (topic, partition) standing in for the broker's answer (the class only sees the send function
 * it is given): each request appends its messages in order and answers with the base offset per partition.
 */
function logs() {
  const ends = new Map<string, number>();
  const requests: TopicMessages[][] = [];
  let release: (() => void)[] = [];
  const send = (topicMessages: TopicMessages[]) => {
    requests.push(topicMessages);
    return new Promise<RecordMetadata[]>((resolve) => {
      release.push(() => {
        const out: RecordMetadata[] = [];
        for (const { topic, messages } of topicMessages) {
          const counts = new Map<number, number>();
          for (const m of messages) counts.set(m.partition ?? 0, (counts.get(m.partition ?? 0) ?? 0) + 1);
          for (const [partition, n] of counts) {
            const base = ends.get(`${topic}:${partition}`) ?? 0;
            ends.set(`${topic}:${partition}`, base + n);
            out.push({ topicName: topic, partition, errorCode: 0, baseOffset: String(base) });
          }
        }
        resolve(out);
      });
    });
  };
  const answer = async () => {
    const pending = release;
    release = [];
    for (const r of pending) r();
    await new Promise((r) => setImmediate(r));
  };
  return { send, requests, answer };
}

const msgs = (partition: number, n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({ partition, value: Buffer.from(`${tag}${i}`) }));

test('what comes while a request is in flight goes, merged and in order, as the next request', async () => {
  const { send, requests, answer } = logs();
  const sender = new CoalescingSender(send);
  const a = sender.submit([{ topic: 'log', messages: msgs(0, 3, 'a') }]);
  const b = sender.submit([
    { topic: 'log', messages: msgs(0, 2, 'b') },
    { topic: 'rep', messages: msgs(1, 1, 'b') },
  ]);
  const cLog = msgs(0, 4, 'c');
  const cOther = msgs(2, 1, 'c');
  const c = sender.submit([
    { topic: 'log', messages: cLog },
    { topic: 'log', messages: cOther },
  ]);
  assert.equal(requests.length, 1, 'one request in flight at a time');
  await answer();
  assert.deepEqual((await a).base('log', 0), 0);
  assert.equal(requests.length, 2, 'b and c go together');
  assert.deepEqual(
    requests[1]!.map((t) => [t.topic, t.messages.map((m) => String(m.value))]),
    [
      ['log', ['b0', 'b1', 'c0', 'c1', 'c2', 'c3', 'c0']],
      ['rep', ['b0']],
    ],
  );
  await answer();
  const [bb, cc] = await Promise.all([b, c]);
  assert.equal(bb.base('log', 0), 3, "b's entries follow a's");
  assert.equal(bb.base('rep', 1), 0);
  assert.equal(cc.base('log', 0), 5, "c's follow b's in the same request");
  assert.equal(cc.base('log', 2), 0);
  assert.deepEqual(
    cLog.map((m) => cc.offsetOf(m)),
    [5, 6, 7, 8],
    'each message its own offset',
  );
  assert.equal(cc.offsetOf(cOther[0]!), 0);
  assert.equal(bb.offsetOf(cLog[0]!), undefined, "another submission's message");
  assert.equal(requests.length, 2, 'three submissions, two requests');
});

test('a request carries submissions up to maxBytes of values, at least one', async () => {
  const { send, requests, answer } = logs();
  const sender = new CoalescingSender(send, 150);
  const big = [{ topic: 'log', messages: [{ partition: 0, value: Buffer.alloc(500) }] }];
  const small = () => [{ topic: 'log', messages: msgs(0, 1, 's') }];
  const all = [sender.submit(big), sender.submit(small()), sender.submit(small()), sender.submit(small())];
  await answer(); // the big one alone
  await answer(); // two small ones: 2 × (64 + 2) ≤ 150 < 3 × 66
  await answer();
  await Promise.all(all);
  assert.deepEqual(
    requests.map((r) => r[0]!.messages.length),
    [1, 2, 1],
  );
});

test('a failed request fails each submission it carried; the next request still goes', async () => {
  let calls = 0;
  let fail!: (error: Error) => void;
  const sender = new CoalescingSender(async (topicMessages) => {
    calls++;
    if (calls === 1) return new Promise<RecordMetadata[]>((_, reject) => (fail = reject));
    return topicMessages.map((t) => ({ topicName: t.topic, partition: 0, errorCode: 0, baseOffset: '7' }));
  });
  const a = sender.submit([{ topic: 'log', messages: msgs(0, 1, 'a') }]);
  const b = sender.submit([{ topic: 'log', messages: msgs(0, 1, 'b') }]);
  fail(new Error('broker gone'));
  await assert.rejects(a, /broker gone/);
  assert.equal((await b).base('log', 0), 7);
  assert.equal(calls, 2);
});
