/**
 * The master's books of function containers: which exist, on which worker,
 * for which function version, busy or idle since when. Warm reuse takes the
 * most recently idle container of the same version (so the others age out
 * and are stopped); a cold start names a new container and reserves its
 * slot and memory through ContainerPlacement (the scheduler's reservations),
 * stopping idle containers of other versions when no worker has room. Pure
 * bookkeeping: the invocation service sends the commands.
 */

/** Where containers get their slot and memory: the scheduler, through the master. */
export interface ContainerPlacement {
  /** Reserves a slot and `memoryMb` on a worker with room now (not one in `avoid` unless no other fits); its id, or undefined. */
  reserve(containerId: string, memoryMb: number, avoid: ReadonlySet<string>): string | undefined;
  /** Gives the slot and memory back. Safe to repeat. */
  release(containerId: string): void;
  /** Whether some live worker could ever hold `memoryMb` (true when none is registered yet: one may come). */
  couldEverHost(memoryMb: number): boolean;
}

export interface Container {
  readonly id: string;
  readonly function: string;
  readonly version: number;
  readonly workerId: string;
  readonly memoryMb: number;
  busy: boolean;
  /** When it last became idle (or was created). */
  idleSince: number;
  /** When its last invocation was sent: a worker may not list it in a heartbeat before it has had it. */
  lastSent: number;
}

export class ContainerPool {
  private readonly containers = new Map<string, Container>();
  private next = 1;

  /** `prefix` makes ids unique across master restarts (a worker may still hold an earlier master's containers). */
  constructor(private readonly placement: ContainerPlacement, private readonly prefix: string) {}

  get(id: string): Container | undefined {
    return this.containers.get(id);
  }

  all(): Container[] {
    return [...this.containers.values()];
  }

  onWorker(workerId: string): Container[] {
    return this.all().filter((c) => c.workerId === workerId);
  }

  count(fn: string): number {
    let n = 0;
    for (const c of this.containers.values()) if (c.function === fn) n++;
    return n;
  }

  /** The most recently idle container of this version, taken (busy); undefined when none is idle. */
  takeWarm(fn: string, version: number, avoid: ReadonlySet<string>, now: number): Container | undefined {
    let best: Container | undefined;
    for (const c of this.containers.values()) {
      if (c.busy || c.function !== fn || c.version !== version || avoid.has(c.workerId)) continue;
      if (!best || c.idleSince > best.idleSince) best = c;
    }
    if (best) {
      best.busy = true;
      best.lastSent = now;
    }
    return best;
  }

  /**
   * Reserves a new container (busy) for a cold start. When no worker has
   * room, stops idle containers, least recently used first, until one has
   * (`stop` is told of each, already released); undefined when even that
   * leaves no room.
   */
  create(fn: string, version: number, memoryMb: number, avoid: ReadonlySet<string>, now: number, stop: (c: Container) => void): Container | undefined {
    const id = `${this.prefix}-${this.next++}`;
    for (;;) {
      const workerId = this.placement.reserve(id, memoryMb, avoid);
      if (workerId !== undefined) {
        const c: Container = { id, function: fn, version, workerId, memoryMb, busy: true, idleSince: now, lastSent: now };
        this.containers.set(id, c);
        return c;
      }
      const idle = this.all().filter((c) => !c.busy).sort((a, b) => a.idleSince - b.idleSince)[0];
      if (!idle) return undefined;
      this.remove(idle.id);
      stop(idle);
    }
  }

  /** Forgets a container and releases its reservation. Safe to repeat. */
  remove(id: string): Container | undefined {
    const c = this.containers.get(id);
    if (!c) return undefined;
    this.containers.delete(id);
    this.placement.release(id);
    return c;
  }
}
