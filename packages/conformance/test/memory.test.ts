import { memoryBackend, type SessionBackend, type SessionRecord } from "@sessionkit/core";
import { unsupported } from "@sessionkit/core/kit";
import { backendConformance, storeConformance } from "../src/index.js";

// The suite's self-test: the reference backend must pass it.
backendConformance("memoryBackend", () => memoryBackend(), { shared: false });
storeConformance("memoryBackend", () => memoryBackend(), { shared: false });

/**
 * The memory backend reduced to what a legacy layout holds (another store's table: no tombstones,
 * no owners, no creation times), so the store suite's checks for such backends run too.
 */
function legacyLayout(inner: SessionBackend): SessionBackend {
  const strip = (r: SessionRecord): SessionRecord => ({
    id: r.id,
    payload: r.payload,
    expiresAt: r.expiresAt,
    owner: null,
  });
  const name = "memory-legacy";
  const noOwners = () => unsupported(name, "stores no owners");
  return {
    name,
    capabilities: { owners: false, tombstones: false, createdAt: false },
    init: () => inner.init(),
    get: async (id, now) => {
      const record = await inner.get(id, now);
      return record && strip(record);
    },
    upsert: async ({ id, payload, expiresAt, now }) => {
      await inner.upsert({ id, payload, expiresAt, owner: null, now });
    },
    touch: ({ id, expiresAt, now }) => inner.touch({ id, expiresAt, now, owner: null }),
    destroy: (id) => inner.destroy(id),
    destroyByOwner: noOwners,
    listByOwner: noOwners,
    clear: () => inner.clear(),
    deleteExpired: (now, limit) => inner.deleteExpired(now, limit),
    count: (now) => inner.count(now),
    stream: async function* (now) {
      for await (const record of inner.stream(now)) yield strip(record);
    },
    close: () => inner.close(),
  };
}
storeConformance("memoryBackend as a legacy layout", () => legacyLayout(memoryBackend()), {
  shared: false,
  tombstones: false,
  owners: false,
});
