/**
 * One produce request for the output of several batches, as the Java producer's record accumulator
 * batches per partition while a request is in flight.
 *
 * The idempotent producer sends one request at a time (`maxInFlightRequests: 1`), and `run` used to send
 * one request per consumed batch: while one was in flight, the next batches' requests queued behind it,
 * each a round trip of its own, and consumption paused once too many records waited (backpressure).
 * Here, what is submitted while a request is in flight waits, merged, and goes as the next request: the
 * number of round trips follows the broker's pace, not the batches'.
 *
 * Order is kept: submissions go in the order they came, within a request and across requests. Each
 * submission's promise settles with its request (a failed request fails every submission in it). A
 * request takes submissions up to `maxBytes` of message values (at least one), so that no partition's
 * record batch grows past what the broker accepts.
 */
import type { Message, RecordMetadata, TopicMessages } from 'kafkajs';

function baseKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Where a submission's messages with an explicit partition went, once acknowledged. */
export class Written {
  private readonly bases = new Map<string, number>();
  private readonly offsets = new Map<Message, number>();

  /** Records that `message` (the next of its topic and partition in this submission) went to `offset`. */
  add(topic: string, message: Message & { partition: number }, offset: number): void {
    const key = baseKey(topic, message.partition);
    if (!this.bases.has(key)) this.bases.set(key, offset);
    this.offsets.set(message, offset);
  }

  /** The offset of this submission's first message on (topic, partition). */
  base(topic: string, partition: number): number | undefined {
    return this.bases.get(baseKey(topic, partition));
  }

  /** The offset `message` (one of this submission's, with its partition set) went to. */
  offsetOf(message: Message): number | undefined {
    return this.offsets.get(message);
  }
}

interface Submission {
  topicMessages: TopicMessages[];
  bytes: number;
  resolve: (written: Written) => void;
  reject: (error: unknown) => void;
}

function bytesOf(topicMessages: readonly TopicMessages[]): number {
  let bytes = 0;
  for (const { messages } of topicMessages)
    for (const message of messages) {
      const value = message.value;
      bytes += 64 + (value === null || value === undefined ? 0 : value.length);
    }
  return bytes;
}

export class CoalescingSender {
  private readonly pending: Submission[] = [];
  private inFlight = false;

  constructor(
    private readonly send: (topicMessages: TopicMessages[]) => Promise<RecordMetadata[]>,
    private readonly maxBytes = 512 * 1024,
  ) {}

  /**
   * Sends `topicMessages` with the next request; resolves, once it is acknowledged, with where this
   * submission's messages whose partition was set went.
   */
  submit(topicMessages: TopicMessages[]): Promise<Written> {
    return new Promise<Written>((resolve, reject) => {
      this.pending.push({ topicMessages, bytes: bytesOf(topicMessages), resolve, reject });
      if (!this.inFlight) this.flush();
    });
  }

  private flush(): void {
    if (this.pending.length === 0) {
      this.inFlight = false;
      return;
    }
    this.inFlight = true;
    let bytes = 0;
    let n = 0;
    while (n < this.pending.length && (n === 0 || bytes + this.pending[n]!.bytes <= this.maxBytes))
      bytes += this.pending[n++]!.bytes;
    const taken = this.pending.splice(0, n);
    const byTopic = new Map<string, Message[]>();
    for (const { topicMessages } of taken)
      for (const { topic, messages } of topicMessages) {
        const list = byTopic.get(topic);
        if (list === undefined) byTopic.set(topic, [...messages]);
        else for (const message of messages) list.push(message);
      }
    this.send([...byTopic].map(([topic, messages]) => ({ topic, messages }))).then(
      (written) => {
        const next = new Map<string, number>();
        for (const w of written) next.set(baseKey(w.topicName, w.partition), Number(w.baseOffset));
        for (const submission of taken) {
          const done = new Written();
          for (const { topic, messages } of submission.topicMessages)
            for (const message of messages) {
              if (message.partition === undefined) continue;
              const key = baseKey(topic, message.partition);
              const at = next.get(key);
              if (at === undefined) continue;
              done.add(topic, message as Message & { partition: number }, at);
              next.set(key, at + 1);
            }
          submission.resolve(done);
        }
        this.flush();
      },
      (error: unknown) => {
        for (const submission of taken) submission.reject(error);
        this.flush();
      },
    );
  }
}
