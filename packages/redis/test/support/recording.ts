/**
 * The same client, with every command the adapter sends through `method` recorded: the adapter
 * talks to the real client, and the test sees how many commands an operation costs, and whether
 * they were sent together (`pendingBefore`: how many earlier commands had not been answered yet).
 */
export function recording<C extends object>(
  client: C,
  method: "sendCommand" | "call",
  argsAt: (args: unknown[]) => unknown[],
): { client: C; sent: { command: string; pendingBefore: number }[] } {
  const sent: { command: string; pendingBefore: number }[] = [];
  let pending = 0;
  const proxy = new Proxy(client, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args);
        if (property !== method) return result;
        sent.push({ command: String(argsAt(args)[0]), pendingBefore: pending });
        pending++;
        return Promise.resolve(result).finally(() => pending--);
      };
    },
  });
  return { client: proxy, sent };
}
