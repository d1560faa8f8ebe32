import type { Admin, ITopicConfig } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  configs?: Record<string, string>;
}

/** Creates the topics that are missing; returns the names it created. Existing topics are left alone. */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  // Several roles may share one topic (e.g. every rule's alerts on one topic): create it once.
  const unique = [...new Map(specs.map((spec) => [spec.topic, spec])).values()];
  const missing = unique.filter((spec) => !existing.has(spec.topic));
  if (missing.length === 0) return [];
  const topics: ITopicConfig[] = missing.map((spec) => ({
    topic: spec.topic,
    numPartitions: spec.partitions,
    replicationFactor: spec.replicationFactor,
    configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
  }));
  try {
    await admin.createTopics({ topics, waitForLeaders: false });
  } catch (error) {
    // Another instance may have created them in between; only fail when they are still missing.
    const now = new Set(await admin.listTopics());
    if (missing.some((spec) => !now.has(spec.topic))) throw error;
  }
  await waitForLeaders(
    admin,
    missing.map((spec) => spec.topic),
  );
  return missing.map((spec) => spec.topic);
}

/**
 * Waits until every partition of `topics` has a leader in the broker's metadata. A loaded KRaft broker
 * can take seconds to learn of a topic its controller has just created; kafkajs's own wait
 * (`waitForLeaders`) retries only LEADER_NOT_AVAILABLE and gives up at once on the
 * UNKNOWN_TOPIC_OR_PARTITION such a broker answers meanwhile. Other errors end the wait as they come.
 */
export async function waitForLeaders(
  admin: Admin,
  topics: readonly string[],
  timeoutMs = 60_000,
): Promise<void> {
  if (topics.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  for (;;) {
    try {
      // Every topic's metadata: asking for a topic the broker does not know yet is an error kafkajs logs.
      const known = new Map((await admin.fetchTopicMetadata()).topics.map((t) => [t.name, t]));
      const led = topics.every((name) => {
        const partitions = known.get(name)?.partitions ?? [];
        return partitions.length > 0 && partitions.every((p) => p.leader >= 0);
      });
      if (led) return;
    } catch (error) {
      if ((error as { retriable?: boolean }).retriable !== true || Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline)
      throw new Error(`topics ${topics.join(', ')} have no leader within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 1_000);
  }
}
