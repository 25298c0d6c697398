/**
 * Actor ids are data: any UTF-8 string. Wherever an id has to become part of a NATS subject
 * or a KV key it is encoded as unpadded base64url of its UTF-8 bytes, whose alphabet
 * `[A-Za-z0-9_-]` contains none of NATS's special characters (`.`, `*`, `>`, whitespace).
 * Two different ids always give two different tokens; the empty id is not an id.
 *
 * A client in another language computes the same token with any base64url encoder
 * (RFC 4648 §5, no padding).
 */
export function encodeToken(value: string): string {
  return Buffer.from(value, "utf8").toString("base64url");
}

export function decodeToken(token: string): string {
  return Buffer.from(token, "base64url").toString("utf8");
}
