import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig, loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

function problem(input: unknown): ConfigError {
  try {
    parseConfig(input);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the configuration to be refused');
}

describe('config: dashboard', () => {
  it('defaults: loopback, port 8080, six hours of history, no auth', () => {
    assert.deepEqual(defaultConfig().dashboard, {
      host: '127.0.0.1',
      port: 8080,
      historyMs: 6 * 3_600_000,
      metrics: [],
      scrapeIntervalMs: 5_000,
      maxAlerts: 5_000,
    });
  });

  it('takes durations, metrics URLs and basic auth', () => {
    const { dashboard } = parseConfig({
      dashboard: {
        host: '0.0.0.0',
        port: 0,
        history: '2h',
        metrics: ['http://10.0.0.5:9464/metrics'],
        scrapeInterval: '10s',
        username: 'soc',
        password: 'correct horse',
      },
    });
    assert.equal(dashboard.historyMs, 7_200_000);
    assert.equal(dashboard.scrapeIntervalMs, 10_000);
    assert.deepEqual(dashboard.metrics, ['http://10.0.0.5:9464/metrics']);
    assert.equal(dashboard.username, 'soc');
    assert.equal(dashboard.password, 'correct horse');
  });

  it('basic auth takes both a username and a password; the error names the key and hides the password', () => {
    const noPassword = problem({ dashboard: { username: 'soc' } });
    assert.equal(noPassword.key, 'dashboard.username');
    assert.match(noPassword.message, /needs dashboard\.password too/);
    const noUser = problem({ dashboard: { password: 'hunter2' } });
    assert.equal(noUser.key, 'dashboard.password');
    assert.doesNotMatch(noUser.message, /hunter2/);
    assert.match(noUser.message, /needs dashboard\.username too/);
  });

  it('refuses a username with a colon, a bad port, a metrics entry that is no URL, a history of 0', () => {
    assert.equal(problem({ dashboard: { username: 'a:b', password: 'x' } }).key, 'dashboard.username');
    assert.match(problem({ dashboard: { port: 70_000 } }).message, /must be a port number/);
    const metrics = problem({ dashboard: { metrics: ['pipeline:9464'] } });
    assert.equal(metrics.key, 'dashboard.metrics[0]');
    assert.match(metrics.message, /must be an http\(s\) URL/);
    assert.match(problem({ dashboard: { history: 0 } }).message, /longer than 0/);
    assert.match(problem({ dashboard: { bind: '::' } }).message, /unknown key/);
  });

  it('reads the environment (a password verbatim)', () => {
    const config = loadConfig({
      env: {
        MAILBOX_RADAR_DASHBOARD__USERNAME: 'soc',
        MAILBOX_RADAR_DASHBOARD__PASSWORD: '[not yaml',
        MAILBOX_RADAR_DASHBOARD__METRICS: '[http://a:9464/metrics, http://b:9464/metrics]',
      },
    });
    assert.equal(config.dashboard.password, '[not yaml');
    assert.deepEqual(config.dashboard.metrics, ['http://a:9464/metrics', 'http://b:9464/metrics']);
  });
});
