// A session id as express-session makes them (24 random bytes, base64url) that never starts
// with `_`: CouchDB reserves such document ids, so session-pouchdb-store can't store that session
// (its write fails, ending its app) nor find it where sessionkit keeps it (`~_…`). About one
// express-session id in 64 starts with `_`. Shared by the old store's app (a child process,
// which requires it) and the test's sessionkit app.
const { randomBytes } = require("node:crypto");

module.exports = function couchSafeId() {
  for (;;) {
    const id = randomBytes(24).toString("base64url");
    if (!id.startsWith("_")) return id;
  }
};
