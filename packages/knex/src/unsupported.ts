import { ErrorCodes, SessionStoreError } from "@sessionkit/core";

/** The rejection of `destroyByOwner` on a table without an owner column (declared as `owners: false`). */
export function ownersUnsupported(name: string): Promise<never> {
  return Promise.reject(
    new SessionStoreError(ErrorCodes.UNSUPPORTED, `${name}: this table layout has no owner column (legacy mode)`),
  );
}
