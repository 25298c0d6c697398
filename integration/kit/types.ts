/** Shapes only the test kit hands out; a single server's are local-nats's (`local-nats/types.ts`). */
import type { RunningServer } from "../../local-nats/index.js";

/** A JetStream cluster of local nats-server processes (see `startNatsCluster`). */
export interface RunningCluster extends AsyncDisposable {
  readonly servers: readonly RunningServer[];
  /** Client URLs of all servers, as nats.js `connect({ servers })` accepts (join with "," for a CLI flag). */
  readonly urls: string[];
  stop(): Promise<void>;
}
