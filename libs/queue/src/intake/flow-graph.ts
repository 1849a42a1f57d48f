/**
 * The job graph of a flow (job id → the job ids it waits for), reduced to what BullMQ can hold:
 * BullMQ flows are trees, each job has one parent (its one dependant). The transitive reduction drops
 * the edges another path already implies, so chained segments plus a stitch over all of them become
 * one chain, and parallel segments plus a stitch a star.
 */
export class JobGraph {
  readonly #dependencies = new Map<string, Set<string>>();
  readonly #reach = new Map<string, ReadonlySet<string>>();

  addNode(id: string): void {
    if (!this.#dependencies.has(id)) this.#dependencies.set(id, new Set());
  }

  /** `dependant` runs only after `dependency`. */
  addEdge(dependant: string, dependency: string): void {
    this.addNode(dependant);
    this.addNode(dependency);
    this.#dependencies.get(dependant)?.add(dependency);
    this.#reach.clear();
  }

  nodes(): string[] {
    return [...this.#dependencies.keys()];
  }

  /** Everything `id` waits for, directly or not. The graph must be acyclic. */
  #reachable(id: string): ReadonlySet<string> {
    const known = this.#reach.get(id);
    if (known) return known;
    const reached = new Set<string>();
    for (const dependency of this.#dependencies.get(id) ?? []) {
      reached.add(dependency);
      for (const further of this.#reachable(dependency)) reached.add(further);
    }
    this.#reach.set(id, reached);
    return reached;
  }

  /** The dependencies of `id` that no other dependency of `id` already waits for. */
  directDependencies(id: string): string[] {
    const dependencies = [...(this.#dependencies.get(id) ?? [])];
    return dependencies.filter(
      (candidate) =>
        !dependencies.some((other) => other !== candidate && this.#reachable(other).has(candidate)),
    );
  }

  /** After the reduction: each job's dependants (a tree gives every job at most one). */
  dependantsAfterReduction(): Map<string, string[]> {
    const dependants = new Map<string, string[]>();
    for (const id of this.#dependencies.keys()) {
      for (const dependency of this.directDependencies(id)) {
        const list = dependants.get(dependency) ?? [];
        list.push(id);
        dependants.set(dependency, list);
      }
    }
    return dependants;
  }
}

/**
 * The cycles among tasks' dependencies (task id → the task ids it depends on), each as the path that
 * closes it (`a → b → a`). Only dependencies that are keys of the map are followed.
 */
export function findCycles(dependencies: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (id: string): void => {
    state.set(id, "visiting");
    path.push(id);
    for (const next of dependencies.get(id) ?? []) {
      if (!dependencies.has(next)) continue;
      const seen = state.get(next);
      if (seen === "visiting") cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (seen === undefined) visit(next);
    }
    path.pop();
    state.set(id, "done");
  };
  for (const id of dependencies.keys()) if (!state.has(id)) visit(id);
  return cycles;
}
