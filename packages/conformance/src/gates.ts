/** A gate a slow request waits at, as the test sees it. */
export interface Gate {
  /** Its name: the last segment of the slow route (`/slow/<name>`). */
  readonly name: string;
  /** Resolves when the request has loaded its session and is waiting at the gate. */
  readonly loaded: Promise<void>;
  /** Lets the request go on. */
  release(): void;
}

interface OpenGate extends Gate {
  arrive(): void;
  passed: Promise<void>;
}

/**
 * Slow requests without timers: a route waits at a named gate, after loading its session, until
 * the test releases it. The test opens the gate, starts the request, waits for `loaded`, does what
 * must happen meanwhile (a logout from another request), then releases it.
 */
export class Gates {
  private readonly open = new Map<string, OpenGate>();
  private counter = 0;

  /** Opens a new gate (for the test). */
  create(): Gate {
    const name = `g${++this.counter}`;
    let arrive!: () => void;
    let release!: () => void;
    const loaded = new Promise<void>((resolve) => (arrive = resolve));
    const passed = new Promise<void>((resolve) => (release = resolve));
    const gate: OpenGate = {
      name,
      loaded,
      passed,
      arrive,
      release: () => {
        this.open.delete(name);
        release();
      },
    };
    this.open.set(name, gate);
    return gate;
  }

  /** Signals that the request reached the gate, and waits until the test releases it (for the app). */
  wait(name: string): Promise<void> {
    const gate = this.open.get(name);
    if (!gate) return Promise.reject(new Error(`no open gate named ${JSON.stringify(name)}`));
    gate.arrive();
    return gate.passed;
  }

  /** Releases every gate still open, so a failed test leaves no request hanging. */
  releaseAll(): void {
    for (const gate of [...this.open.values()]) gate.release();
  }
}
