/**
 * Mailbox side: which partition of a state store's changelog a key's entries live in. A change the core
 * makes while a record is fed goes to that record's partition, as Kafka Streams writes a task's changelog
 * (changelog.ts). A change made on a watermark — an expiry, such as first_access forgetting a pair out of
 * its lookback — has no record: it must still go to the partition that holds the key's entries, or the entry
 * would outlive it in the compacted topic and come back on every restore. Every key of a mailbox-side store
 * begins with its mailbox key (`<mailbox>` or `<mailbox>\n<actor>`), and all of a mailbox's records come
 * from one partition of the activity topic: so the partition is learned per mailbox, from the changes made
 * with a record and from the entries read back on a restore. About one entry per mailbox with state.
 */
export class StatePartitions {
  private readonly byMailbox = new Map<string, number>();

  /** `key`'s entry was written to, or read back from, `partition`. */
  learn(key: string, partition: number): void {
    const mailbox = mailboxOf(key);
    if (this.byMailbox.get(mailbox) !== partition) this.byMailbox.set(mailbox, partition);
  }

  /** The partition of `key`'s mailbox, if known. */
  of(key: string): number | undefined {
    return this.byMailbox.get(mailboxOf(key));
  }

  clear(): void {
    this.byMailbox.clear();
  }
}

function mailboxOf(key: string): string {
  const end = key.indexOf('\n');
  return end < 0 ? key : key.slice(0, end);
}
