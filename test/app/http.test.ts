import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { listeningAt, startHttp } from '../../src/app/http.js';
import { createMetrics } from '../../src/app/metrics.js';

describe('/metrics', () => {
  const metrics = createMetrics();
  const health = { live: () => true, ready: () => true, describe: () => ({}) };
  let server: Server;
  let url: string;
  before(async () => {
    server = await startHttp('127.0.0.1', 0, health, metrics.registry);
    url = listeningAt(server, '127.0.0.1').metrics;
    metrics.decoded.inc(7);
  });
  after(() => server.close());

  it('serves every metric, or only those named with name[] (unknown names left out)', async () => {
    const all = await (await fetch(url)).text();
    assert.match(all, /^mailbox_radar_records_decoded_total 7$/m);
    assert.match(all, /^# TYPE mailbox_radar_records_rejected_total counter$/m);
    const response = await fetch(
      `${url}?name[]=mailbox_radar_records_decoded_total&name[]=no_such_metric&name[]=mailbox_radar_records_rejected_total`,
    );
    assert.equal(response.status, 200);
    const some = await response.text();
    assert.match(some, /^mailbox_radar_records_decoded_total 7$/m);
    assert.match(some, /^# TYPE mailbox_radar_records_rejected_total counter$/m);
    assert.doesNotMatch(some, /no_such_metric/);
    const families = some.split('\n').filter((line) => line.startsWith('# TYPE ')).length;
    assert.equal(families, 2, 'the two named metrics and nothing else');
    assert.ok(all.split('\n').filter((line) => line.startsWith('# TYPE ')).length > 10);
  });
});
