import { serviceGate } from "@sessionkit/conformance";
import { couchUrlFromEnv, startPouchdbServer, type TestCouch } from "./pouchdb-server.js";

/** Where a test file's HTTP databases live, and how to clean up after it. */
export interface CouchForTests {
  /** A database URL unique to this file and label. */
  database(label: string): string;
  /** The pouchdb-server the file started, or undefined when SESSIONKIT_COUCHDB_URL points elsewhere. */
  server: TestCouch | undefined;
  /** A skip reason when the external CouchDB is unreachable, else false. */
  skip: string | false;
  /** Deletes the databases (external CouchDB) or stops the server. */
  cleanup(): Promise<void>;
}

/**
 * Uses SESSIONKIT_COUCHDB_URL when set; otherwise starts pouchdb-server on a free loopback port.
 * `fileLabel` keeps files apart when they share one CouchDB.
 */
export async function couchForTests(fileLabel: string): Promise<CouchForTests> {
  const external = couchUrlFromEnv();
  let counter = 0;
  if (external) {
    const skip = await serviceGate(`CouchDB at ${new URL(external).host}`, async () => {
      const response = await fetch(`${external}/`);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    });
    const created: string[] = [];
    return {
      database(label) {
        const url = `${external}/sk-${fileLabel}-${label}-${process.pid}-${++counter}`;
        created.push(url);
        return url;
      },
      server: undefined,
      skip,
      async cleanup() {
        await Promise.all(created.map((url) => fetch(url, { method: "DELETE" }).catch(() => undefined)));
      },
    };
  }
  const server = await startPouchdbServer();
  return {
    database: (label) => server.database(`sk-${fileLabel}-${label}`),
    server,
    skip: false,
    cleanup: () => server.stop(),
  };
}
