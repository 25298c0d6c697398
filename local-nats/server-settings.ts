/**
 * The nats-server settings Shoal relies on, written into every server local-nats starts and
 * shipped for docker-compose in `docker/nats.conf` (the compose test checks they agree).
 *
 * A client whose link goes silent — TCP up, nothing arriving, no reset: a partition, a frozen
 * VM — keeps its subscriptions on the server until the server notices. With NATS's defaults
 * (a PING every 2 minutes, 2 outstanding) that is minutes, during which the ingress queue group
 * keeps handing a share of the requests to a node that never receives them. A PING every
 * second and at most 3 unanswered drop such a client within about 4 s, in line with a node's
 * membership TTL (3 s by default): a node that cannot answer a PING for that long has lost its
 * lease anyway.
 */
export const SERVER_SETTINGS: Readonly<Record<string, string | number>> = Object.freeze({
  ping_interval: "1s",
  ping_max: 3,
});

/** {@link SERVER_SETTINGS} as nats-server configuration lines. */
export function serverSettingsConfig(): string {
  return Object.entries(SERVER_SETTINGS)
    .map(([k, v]) => `${k}: ${typeof v === "string" ? JSON.stringify(v) : String(v)}`)
    .join("\n");
}
