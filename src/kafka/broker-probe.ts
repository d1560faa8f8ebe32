import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { formatDuration } from '../config/duration.js';
import { ErrorCodes, RadarError } from '../errors.js';

/**
 * Does a Kafka broker answer? One connection (TLS when configured) and one ApiVersions request, which a
 * broker answers before any SASL authentication. kafkajs alone retries an unreachable cluster for minutes,
 * logging a warning per attempt; this tells the same in one bounded question, so start-up can fail with
 * one line. Once running, reconnects stay kafkajs' business (a broker that restarts comes back).
 */

/**
 * Why a broker did not answer (refused, no answer, closed); `fatal` when waiting cannot help: a TLS
 * certificate refused on either side, or an answer that is not Kafka's (a TLS port spoken to in plaintext).
 */
export interface ProbeFailure {
  reason: string;
  fatal?: RadarError | undefined;
}

// ApiVersions v0 from client id "radar": size, api key 18, version 0, correlation id 1, client id.
const API_VERSIONS = Buffer.from([0, 0, 0, 15, 0, 18, 0, 0, 0, 0, 0, 1, 0, 5, ...Buffer.from('radar')]);

/**
 * One broker (`host:port`), within `timeoutMs` for the connection, the handshake and the answer:
 * undefined when it answered, else why not.
 */
export function probeBroker(
  broker: string,
  tls: ConnectionOptions | undefined,
  timeoutMs: number,
): Promise<ProbeFailure | undefined> {
  const at = broker.lastIndexOf(':');
  const host = broker.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(broker.slice(at + 1));
  return new Promise((resolve) => {
    const socket: Socket = tls
      ? tlsConnect({ ...tls, host, port, servername: isIP(host) ? undefined : host })
      : tcpConnect({ host, port });
    const timer = setTimeout(() => done({ reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
    const done = (result: ProbeFailure | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    let connected = false;
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      connected = true;
      socket.write(API_VERSIONS);
    });
    let answer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer.length < 8) return;
      // A Kafka response: its size, then our correlation id (1).
      if (answer.readInt32BE(4) === 1) return done(undefined);
      const reason = `answered, but not as a Kafka broker${tls ? '' : ' (a TLS listener? kafka.ssl)'}`;
      done({
        reason,
        fatal: new RadarError(ErrorCodes.KAFKA_UNAVAILABLE, `Kafka broker ${broker} ${reason}`),
      });
    });
    // A TLS listener spoken to in plaintext closes; a plaintext one resets a TLS handshake.
    const hint = tls ? 'not a TLS listener? kafka.ssl' : 'a TLS listener? kafka.ssl';
    socket.once('close', () => done({ reason: `closed without answering, ${hint}` }));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? error.message;
      const handshakeReset = code === 'ECONNRESET' && tls !== undefined && !connected;
      done({ reason: handshakeReset ? `${code}, ${hint}` : code, fatal: certificateFailure(broker, error) });
    });
  });
}

/**
 * Resolves once a broker answers; after `attempts` tries, `timeoutMs` apart (each also bounded by it),
 * rejects with KAFKA_UNAVAILABLE naming each broker and why. So it gives up within attempts × timeoutMs.
 * A fatal problem (a certificate, an answer that is not Kafka's) is not retried: waiting does not fix it.
 */
export async function awaitBrokers(
  brokers: readonly string[],
  tls: ConnectionOptions | undefined,
  timeoutMs: number,
  attempts: number,
): Promise<void> {
  let failures: (ProbeFailure | undefined)[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const started = Date.now();
    failures = await Promise.all(brokers.map((broker) => probeBroker(broker, tls, timeoutMs)));
    if (failures.some((f) => f === undefined)) return;
    const fatal = failures.find((f) => f?.fatal !== undefined)?.fatal;
    if (fatal) throw fatal;
    if (attempt < attempts) await sleep(timeoutMs - (Date.now() - started));
  }
  const why = brokers.map((broker, i) => `${broker} (${failures[i]?.reason ?? '?'})`);
  throw new RadarError(
    ErrorCodes.KAFKA_UNAVAILABLE,
    `Kafka unreachable: no broker answered in ${attempts} attempts, ${formatDuration(timeoutMs)} apart (kafka.brokers, kafka.connectionTimeoutMs): ${why.join(', ')}`,
    { retriable: true },
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The clear error for a TLS certificate failure, or undefined for any other error. */
export function certificateFailure(broker: string, error: NodeJS.ErrnoException): RadarError | undefined {
  const code = error.code ?? '';
  let what: string | undefined;
  if (
    /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE)$/.test(
      code,
    )
  )
    what = "the broker's certificate is not signed by a CA this client trusts (kafka.ssl.ca)";
  else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    what = "the broker's certificate is expired or not yet valid";
  else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    what = "the broker's certificate does not name this host (kafka.brokers)";
  else if (/^ERR_SSL_.*(CERTIFICATE|UNKNOWN_CA)/.test(code))
    what = "the broker refused this client's certificate, or its absence (kafka.ssl.cert, kafka.ssl.key)";
  if (!what) return undefined;
  return new RadarError(
    ErrorCodes.KAFKA_UNAVAILABLE,
    `Kafka broker ${broker}: TLS failed, ${what} [${code}]`,
    {
      cause: error,
    },
  );
}
