/** Plain SQL identifiers only: a letter or underscore, then letters, digits or underscores. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Why `value` is not an acceptable identifier, or undefined when it is.
 * `maxLength` keeps derived names (indexes) within every dialect's 63/64-character limit.
 */
export function identifierProblem(value: unknown, maxLength: number): string | undefined {
  if (typeof value !== "string") return `must be a string, got ${typeof value}`;
  if (value.length === 0 || value.length > maxLength) return `must be 1 to ${maxLength} characters long`;
  if (!IDENTIFIER.test(value)) return "may contain only letters, digits and underscores, and not start with a digit";
  return undefined;
}
