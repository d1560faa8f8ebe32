import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildAlert, episodeAlert } from '../../src/detect/build-alert.js';
import { KeyedWindows, type WindowState } from '../../src/detect/keyed-windows.js';
import type { Access } from '../../src/detect/types.js';
import { activity, at } from './helpers.js';

/** The earliest time any key needs, by looking at every key (what neededFrom did before its heap). */
function scanned(windows: KeyedWindows<WindowState>): number {
  let min = Infinity;
  for (const state of windows.states.values()) {
    const first = state.records[0];
    if (first !== undefined && first.time < min) min = first.time;
    const episode = state.episodes[0];
    if (episode !== undefined && episode.start < min) min = episode.start;
  }
  return min;
}

function accessOf(key: string, time: number, id: string): Access {
  const record = activity({ id, creation_time: time });
  return {
    kind: 'access',
    record,
    id,
    time,
    actor: 'eve@contoso.com',
    actorDomain: 'contoso.com',
    mailbox: key,
    ownerUpn: `${key}@contoso.com`,
    pairKey: key,
    crossDomain: false,
    app: false,
    owner: false,
  };
}

describe('KeyedWindows.neededFrom', () => {
  it('equals a scan of every key after every record and every watermark, over random streams', () => {
    let seed = 4_242;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const settings = { enabled: true, threshold: 4, windowMs: 60_000 };
    let checks = 0;
    let episodes = 0;
    for (let round = 0; round < 60; round++) {
      const windows = new KeyedWindows<WindowState>(settings.windowMs, (key) => ({
        key,
        records: [],
        episodes: [],
        due: Infinity,
      }));
      let time = at('09:00:00');
      let watermark = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < 500; i++) {
        time += Math.floor(random() * 15_000);
        // Late records now and then, up to ten minutes behind: they lower a key's needed time.
        const late = random() < 0.25 ? Math.floor(random() * 600_000) : 0;
        const key = `mbx-${Math.floor(random() * (2 + (round % 7)))}`;
        const access = accessOf(key, time - late, `r${round}-${i}`);
        if (access.time < watermark) continue; // the core drops records behind the watermark
        const state = windows.get(key);
        const held = windows.extendOrHold(state, access);
        // An episode over the last few held records, as the rules open one at their threshold.
        if (held >= 0 && state.records.length >= settings.threshold && random() < 0.3) {
          const window = state.records.slice(-settings.threshold);
          const alert = buildAlert('non_owner_burst', settings, key, window, access.time);
          windows.openEpisode(state, window, episodeAlert(alert, settings));
          episodes++;
        }
        assert.equal(windows.neededFrom(), scanned(windows), `round ${round}, record ${i}`);
        if (random() < 0.2) {
          watermark = Math.max(watermark, time - Math.floor(random() * 900_000));
          windows.advance(watermark);
          windows.take();
          assert.equal(windows.neededFrom(), scanned(windows), `round ${round}, watermark after ${i}`);
        }
        checks++;
      }
      windows.advance(Number.POSITIVE_INFINITY);
      assert.equal(windows.neededFrom(), Infinity);
      assert.equal(windows.states.size, 0);
    }
    assert.ok(checks > 20_000 && episodes > 1_000, `${checks} checks, ${episodes} episodes`);
  });
});
