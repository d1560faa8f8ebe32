import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { prettyStream, resolveLogFormat } from '../../src/app/logger.js';
import { RadarError, ErrorCodes } from '../../src/errors.js';

describe('logger', () => {
  it('auto is pretty on a terminal and JSON otherwise; json and pretty are what they say', () => {
    assert.equal(resolveLogFormat('auto', true), 'pretty');
    assert.equal(resolveLogFormat('auto', false), 'json');
    assert.equal(resolveLogFormat('json', true), 'json');
    assert.equal(resolveLogFormat('pretty', false), 'pretty');
  });

  it('pretty: one line per entry, an error told by its message and code, a stack only for a bug', () => {
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    const logger = pino({ level: 'info' }, prettyStream(sink, false));
    logger.info({ topics: ['a'] }, 'created topics');
    const outage = new RadarError(ErrorCodes.REGISTRY_UNAVAILABLE, 'registry http://x did not answer');
    logger.fatal({ err: outage }, outage.message);
    logger.warn({ err: new RadarError(ErrorCodes.KAFKA_UNAVAILABLE, 'broker gone') }, 'consumer crashed');
    logger.error({ err: new TypeError('x is undefined') }, 'pipeline failed');
    const lines = text.split('\n');
    assert.match(lines[0] as string, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: created topics \{"topics":\["a"\]\}$/);
    assert.match(lines[1] as string, /FATAL: registry http:\/\/x did not answer \(REGISTRY_UNAVAILABLE\)$/);
    assert.match(lines[2] as string, /WARN: consumer crashed: broker gone \(KAFKA_UNAVAILABLE\)$/);
    assert.match(lines[3] as string, /ERROR: pipeline failed: x is undefined$/);
    assert.match(lines[4] as string, /^TypeError: x is undefined$/);
    assert.match(lines[5] as string, /^\s+at /);
    assert.equal(text.slice(0, text.indexOf('TypeError')).includes('"stack"'), false);
  });
});
