import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { absorb, expireEpisodes, findEpisode, openEpisode, type Episode } from '../../src/detect/episode.js';

const T = 10;
const timed = (...times: number[]) => times.map((time) => ({ time }));

describe('episode', () => {
  it('finds the episode whose reach [start − T, end + T] holds a time', () => {
    const episodes: Episode[] = [];
    openEpisode(episodes, 100, 120);
    openEpisode(episodes, 200, 210);
    assert.equal(findEpisode(episodes, 89, T), -1);
    assert.equal(findEpisode(episodes, 90, T), 0);
    assert.equal(findEpisode(episodes, 130, T), 0);
    assert.equal(findEpisode(episodes, 131, T), -1);
    assert.equal(findEpisode(episodes, 195, T), 1);
    assert.equal(findEpisode(episodes, 221, T), -1);
  });

  it('absorbs held records chained to it and removes them from the window state', () => {
    const episodes: Episode[] = [];
    const episode = openEpisode(episodes, 100, 120);
    const records = timed(70, 85, 95, 100, 110, 120, 128, 137, 160);
    const removed = absorb(episodes, episode, records, T);
    assert.deepEqual(episode, { start: 85, end: 137, floor: -Infinity });
    assert.deepEqual(records, timed(70, 160));
    assert.equal(removed, 7);
  });

  it('absorbs backwards no further than its floor, however the records chain', () => {
    const episodes: Episode[] = [];
    const episode = openEpisode(episodes, 100, 120, 90);
    const records = timed(70, 85, 95, 100, 110, 120);
    absorb(episodes, episode, records, T);
    assert.deepEqual(episode, { start: 95, end: 120, floor: 90 });
    assert.deepEqual(records, timed(70, 85), '85 is within T of 95, but below the floor');
    // Merged, an episode keeps the lower floor.
    const earlier = openEpisode(episodes, 60, 62, 50);
    absorb(episodes, earlier, timed(72, 80, 88), T);
    assert.deepEqual(episodes, [{ start: 60, end: 120, floor: 50 }]);
  });

  it('merges episodes that come within T of each other', () => {
    const episodes: Episode[] = [];
    openEpisode(episodes, 100, 110);
    const last = openEpisode(episodes, 140, 150);
    const middle = openEpisode(episodes, 120, 125);
    assert.deepEqual(episodes, [
      { start: 100, end: 110, floor: -Infinity },
      { start: 120, end: 125, floor: -Infinity },
      { start: 140, end: 150, floor: -Infinity },
    ]);
    middle.end = 131;
    absorb(episodes, middle, [], T);
    assert.deepEqual(episodes, [{ start: 100, end: 150, floor: -Infinity }]);
    assert.equal(last.end, 150);
  });

  it('expires episodes the watermark has passed by more than T', () => {
    const episodes: Episode[] = [
      { start: 0, end: 50, floor: -Infinity },
      { start: 100, end: 150, floor: -Infinity },
    ];
    expireEpisodes(episodes, 60, T);
    assert.equal(episodes.length, 2);
    expireEpisodes(episodes, 61, T);
    assert.equal(episodes.length, 1);
    expireEpisodes(episodes, 160, T);
    assert.equal(episodes.length, 1);
    expireEpisodes(episodes, 161, T);
    assert.equal(episodes.length, 0);
  });
});
