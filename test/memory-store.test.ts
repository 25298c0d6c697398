import { MemoryBackend, MemoryEventStore } from "../src/store/memory.js";
import { describeEventStoreConformance } from "./support/store-conformance.js";

describeEventStoreConformance("MemoryEventStore", async () => {
  const backend = new MemoryBackend();
  const store = new MemoryEventStore({ backend });
  return {
    store,
    cleanup: () => store.close(),
    reopen: async () => new MemoryEventStore({ backend }),
  };
});
