import type { RegistryConfig } from '../config/types.js';
import { ErrorCodes, RadarError } from '../errors.js';
import { RegistryClient, RegistryResponseError } from './registry.js';

/** Where Apicurio serves the Confluent schema registry API. */
export const APICURIO_CONFLUENT_PATH = '/apis/ccompat/v7';

/**
 * The URL at which `registry.url` serves the Confluent schema registry API, asked once at start-up by
 * every command that uses the registry: the URL itself when GET /subjects answers a list of subjects
 * there (Confluent's registry, or an Apicurio URL that already ends in /apis/ccompat/v7), else
 * {url}/apis/ccompat/v7 when that does — Apicurio's base URL, as `make stack-up` leaves it and as a
 * newcomer writes it; `onResolved` hears about that once. An answer that is not the Confluent API (404,
 * an HTML page, other JSON) is CONFIG_INVALID, one line naming what to try. A registry that does not answer
 * stays REGISTRY_UNAVAILABLE, a refusal REGISTRY_UNAUTHORIZED.
 */
export async function resolveRegistryUrl(
  registry: RegistryConfig,
  onResolved?: (message: string) => void,
): Promise<string> {
  const url = registry.url.replace(/\/+$/, '');
  const answer = await confluentApiAt(registry, url, registry.retries);
  if (answer === true) return url;
  const isApicurioPath = url.endsWith(APICURIO_CONFLUENT_PATH);
  const apicurio = `${url}${APICURIO_CONFLUENT_PATH}`;
  // The registry answered, so the second probe needs no retries.
  if (!isApicurioPath && (await confluentApiAt(registry, apicurio, 0)) === true) {
    onResolved?.(
      `registry.url ${url} serves the Confluent API under ${APICURIO_CONFLUENT_PATH}; using ${apicurio}`,
    );
    return apicurio;
  }
  const hint = isApicurioPath
    ? `for Confluent's registry try ${url.slice(0, -APICURIO_CONFLUENT_PATH.length)}`
    : `for Apicurio try ${apicurio}`;
  throw new RadarError(
    ErrorCodes.CONFIG_INVALID,
    `registry.url ${url} does not serve the Confluent schema registry API (GET /subjects ${answer}); ${hint}`,
  );
}

/** True when GET {url}/subjects answers a list of subjects, else how it answered instead. */
async function confluentApiAt(
  registry: RegistryConfig,
  url: string,
  retries: number,
): Promise<true | string> {
  const client = new RegistryClient({
    url,
    username: registry.username,
    password: registry.password,
    retries,
  });
  try {
    await client.subjects();
    return true;
  } catch (error) {
    // An answer that waiting will not change (404, a web page): not the API. No answer, 5xx, 401/403: thrown.
    if (!(error instanceof RegistryResponseError) || error.retriable) throw error;
    return error.status === 200
      ? 'answered 200 with something other than a list of subjects'
      : `answered ${error.status}`;
  }
}
