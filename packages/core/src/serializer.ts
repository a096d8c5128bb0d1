/** Turns a session object into a string and back. Must round-trip what express-session stores. */
export interface Serializer {
  stringify(session: unknown): string;
  parse(text: string): unknown;
}

/** The default serializer: JSON. */
export const jsonSerializer: Serializer = {
  stringify: (session) => JSON.stringify(session),
  parse: (text) => JSON.parse(text),
};
