import { checkKey } from "./checks.js";
import { journalSubject } from "../nats-names.js";
import type { ActorKey } from "./types.js";

/**
 * Journal subjects of the actors seen lately, so that a busy actor's key is checked and
 * base64url-encoded once, not on every append. Only keys that passed {@link checkKey} are
 * kept: the check depends on the type and id strings alone, so a hit is as good as checking
 * again. Bounded: when full it starts over, which costs each actor one fresh computation.
 */
export class SubjectCache {
  // By type, then id: two lookups of the caller's own strings, no key to build and hash.
  private readonly byType = new Map<string, Map<string, string>>();
  private count = 0;

  constructor(
    private readonly cluster: string,
    private readonly capacity = 10_000,
  ) {}

  /** The journal subject of `key`; a malformed key throws what {@link checkKey} throws. */
  subjectOf(key: ActorKey): string {
    // Read each field once: the strings looked up must be the strings checked.
    const type: unknown = typeof key === "object" && key !== null ? key.type : undefined;
    const id: unknown = typeof key === "object" && key !== null ? key.id : undefined;
    // Not an object, or a field that is not a string: checkKey throws the usual BAD_REQUEST.
    if (typeof type !== "string" || typeof id !== "string") return journalSubject(this.cluster, checkKey(key));
    const known = this.byType.get(type)?.get(id);
    if (known !== undefined) return known;
    const subject = journalSubject(this.cluster, checkKey({ type, id }));
    if (this.count >= this.capacity) this.clear();
    let ids = this.byType.get(type);
    if (ids === undefined) {
      ids = new Map();
      this.byType.set(type, ids);
    }
    ids.set(id, subject);
    this.count++;
    return subject;
  }

  clear(): void {
    this.byType.clear();
    this.count = 0;
  }

  get size(): number {
    return this.count;
  }
}
