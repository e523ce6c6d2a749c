// An order-statistics treap: the memory store's stand-in for a Redis sorted set (insert, delete, rank and
// select in O(log n)). Order is (score asc, member asc by code unit), as Redis orders a sorted set.

interface Node {
  member: string;
  score: number;
  weight: number;
  size: number;
  left: Node | null;
  right: Node | null;
}

const size = (node: Node | null): number => (node ? node.size : 0);

function update(node: Node): Node {
  node.size = 1 + size(node.left) + size(node.right);
  return node;
}

function before(score: number, member: string, otherScore: number, otherMember: string): boolean {
  return score < otherScore || (score === otherScore && member < otherMember);
}

function less(score: number, member: string, node: Node): boolean {
  return before(score, member, node.score, node.member);
}

/** Splits into (< key, ≥ key). */
function split(node: Node | null, score: number, member: string): [Node | null, Node | null] {
  if (!node) return [null, null];
  if (before(node.score, node.member, score, member)) {
    const [l, r] = split(node.right, score, member);
    node.right = l;
    return [update(node), r];
  }
  const [l, r] = split(node.left, score, member);
  node.left = r;
  return [l, update(node)];
}

function merge(a: Node | null, b: Node | null): Node | null {
  if (!a) return b;
  if (!b) return a;
  if (a.weight > b.weight) {
    a.right = merge(a.right, b);
    return update(a);
  }
  b.left = merge(a, b.left);
  return update(b);
}

/** Weights come from a fixed-seed generator so behaviour is reproducible. */
function nextWeight(state: { seed: number }): number {
  state.seed = (Math.imul(state.seed, 1664525) + 1013904223) >>> 0;
  return state.seed;
}

export class OrderTree {
  #root: Node | null = null;
  #scores = new Map<string, number>();
  #rng = { seed: 0x2545f491 };

  get size(): number {
    return this.#scores.size;
  }

  score(member: string): number | undefined {
    return this.#scores.get(member);
  }

  /** Adds or moves a member. */
  set(member: string, score: number): void {
    if (this.#scores.has(member)) this.delete(member);
    const node: Node = { member, score, weight: nextWeight(this.#rng), size: 1, left: null, right: null };
    const [l, r] = split(this.#root, score, member);
    this.#root = merge(merge(l, node), r);
    this.#scores.set(member, score);
  }

  delete(member: string): boolean {
    const score = this.#scores.get(member);
    if (score === undefined) return false;
    // Iterative: walk down, splice the node's merged children into its place, shrink the path's sizes.
    const path: Node[] = [];
    let node = this.#root;
    let wentLeft = false;
    while (node && node.member !== member) {
      path.push(node);
      wentLeft = less(score, member, node);
      node = wentLeft ? node.left : node.right;
    }
    if (!node) return false;
    const merged = merge(node.left, node.right);
    const parent = path.at(-1);
    if (!parent) this.#root = merged;
    else if (wentLeft) parent.left = merged;
    else parent.right = merged;
    for (const above of path) above.size--;
    this.#scores.delete(member);
    return true;
  }

  /** 0-based rank, or null when absent. */
  rank(member: string): number | null {
    const score = this.#scores.get(member);
    if (score === undefined) return null;
    let rank = 0;
    let node = this.#root;
    while (node) {
      if (node.member === member) return rank + size(node.left);
      if (less(score, member, node)) node = node.left;
      else {
        rank += size(node.left) + 1;
        node = node.right;
      }
    }
    return null;
  }

  /** Member at a 0-based rank, or null out of range. */
  at(rank: number): string | null {
    let node = this.#root;
    let k = rank;
    while (node) {
      const left = size(node.left);
      if (k < left) node = node.left;
      else if (k === left) return node.member;
      else {
        k -= left + 1;
        node = node.right;
      }
    }
    return null;
  }

  /** Members with rank in [start, stop] (inclusive), in order: one descent, then in-order steps. */
  range(start: number, stop: number): string[] {
    const out: string[] = [];
    const count = Math.min(stop, this.size - 1) - start + 1;
    if (count <= 0) return out;
    // Ancestors still to visit (each comes after everything left of it), ending at the node of rank `start`.
    const pending: Node[] = [];
    let node = this.#root;
    let k = start;
    while (node) {
      const left = size(node.left);
      if (k < left) {
        pending.push(node);
        node = node.left;
      } else if (k === left) {
        pending.push(node);
        break;
      } else {
        k -= left + 1;
        node = node.right;
      }
    }
    while (out.length < count && pending.length) {
      const next = pending.pop()!;
      out.push(next.member);
      for (let child = next.right; child; child = child.left) pending.push(child);
    }
    return out;
  }

  /** All members in order. */
  members(): string[] {
    const out: string[] = [];
    const walk = (node: Node | null) => {
      if (!node) return;
      walk(node.left);
      out.push(node.member);
      walk(node.right);
    };
    walk(this.#root);
    return out;
  }
}
