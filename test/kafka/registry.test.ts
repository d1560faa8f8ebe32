import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { DecodeError, ErrorCodes, RadarError } from '../../src/errors.js';
import { isRegistryOutage, RegistryResponseError } from '../../src/kafka/registry.js';

const { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded } = kafkajs;

test('isRegistryOutage: the two registry codes, also wrapped by kafkajs or as a cause', () => {
  const down = new RadarError(ErrorCodes.REGISTRY_UNAVAILABLE, 'no answer', { retriable: true });
  const refused = new RegistryResponseError(401, 'refused');
  assert.equal(refused.code, ErrorCodes.REGISTRY_UNAUTHORIZED);
  assert.equal(isRegistryOutage(down), true);
  assert.equal(isRegistryOutage(refused), true);
  assert.equal(isRegistryOutage(new RegistryResponseError(503, 'busy')), true);
  const wrapped = new KafkaJSNumberOfRetriesExceeded(down, { retryCount: 10, retryTime: 1000 });
  assert.equal(isRegistryOutage(wrapped), true);
  assert.equal(isRegistryOutage(new KafkaJSNonRetriableError(refused)), false, 'no cause given');
  assert.equal(isRegistryOutage(Object.assign(new Error('x'), { originalError: refused })), true);
  assert.equal(isRegistryOutage(new Error('outer', { cause: new Error('mid', { cause: refused }) })), true);

  assert.equal(isRegistryOutage(new DecodeError(ErrorCodes.DECODE_UNKNOWN_SCHEMA, 'id 7')), false);
  assert.equal(isRegistryOutage(new RadarError(ErrorCodes.KAFKA_UNAVAILABLE, 'broker')), false);
  assert.equal(isRegistryOutage(new Error('plain')), false);
  assert.equal(isRegistryOutage(undefined), false);
});

test('RegistryResponseError: refusals and outages are retriable, other answers are not', () => {
  for (const status of [400, 408, 429, 500, 503]) {
    const e = new RegistryResponseError(status, 'x');
    assert.equal(e.code, ErrorCodes.REGISTRY_UNAVAILABLE, `${status}`);
    assert.equal(e.retriable, true, `${status}`);
  }
  for (const status of [401, 403]) {
    const e = new RegistryResponseError(status, 'x');
    assert.equal(e.code, ErrorCodes.REGISTRY_UNAUTHORIZED, `${status}`);
    assert.equal(e.retriable, true, `${status}`);
  }
  for (const status of [404, 409, 422]) assert.equal(new RegistryResponseError(status, 'x').retriable, false);
});
