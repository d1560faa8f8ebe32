/** A binary min-heap of items by time: the expiry schedule of keyed window state. */
export class TimeHeap<T> {
  private readonly times: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.times.length;
  }

  /** The smallest time, or +Infinity when empty. */
  peekTime(): number {
    return this.times.length === 0 ? Infinity : (this.times[0] as number);
  }

  /** The item with the smallest time (undefined when empty). */
  peek(): T | undefined {
    return this.items[0];
  }

  push(time: number, item: T): void {
    const times = this.times;
    const items = this.items;
    let i = times.length;
    times.push(time);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((times[parent] as number) <= time) break;
      times[i] = times[parent] as number;
      items[i] = items[parent] as T;
      i = parent;
    }
    times[i] = time;
    items[i] = item;
  }

  /** Removes and returns the item with the smallest time (undefined when empty). */
  pop(): T | undefined {
    const times = this.times;
    const items = this.items;
    const n = times.length;
    if (n === 0) return undefined;
    const top = items[0];
    const lastTime = times.pop() as number;
    const lastItem = items.pop() as T;
    if (n > 1) {
      let i = 0;
      const size = n - 1;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= size) break;
        const right = left + 1;
        const child = right < size && (times[right] as number) < (times[left] as number) ? right : left;
        if ((times[child] as number) >= lastTime) break;
        times[i] = times[child] as number;
        items[i] = items[child] as T;
        i = child;
      }
      times[i] = lastTime;
      items[i] = lastItem;
    }
    return top;
  }

  clear(): void {
    this.times.length = 0;
    this.items.length = 0;
  }
}
