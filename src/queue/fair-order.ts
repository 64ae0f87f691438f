/**
 * Fair scheduling across message groups (a group is a job's owner): a receive takes from the group
 * with the fewest messages in flight, the oldest message breaking ties, and passes over a group at
 * its cap. So a user who queued 500 jobs has one running while another user's single job is taken
 * next, instead of after all 500. Messages without a group share the group '' (no cap), which
 * keeps them oldest first among themselves, as before groups existed.
 *
 * The SQLite queue applies `pickFairly` to what it reads in its claim transaction; the PostgreSQL
 * queue states the same order in SQL (postgres-sql.ts, FAIR_CLAIM), so it needs no round trips.
 */

/** Where messages sent without a group are kept: a group of its own, never capped. */
export const NO_GROUP = '';

/** A visible message at the head of its group, in receive order. */
export interface Head {
  readonly seq: number;
  readonly visibleAt: number;
}

export interface GroupState {
  readonly groupId: string;
  /** Received and not yet deleted, nor visible again. */
  readonly inFlight: number;
  /** Its oldest visible messages (by visibleAt, then seq), as many as it could be given. */
  readonly heads: readonly Head[];
}

/** How many more messages a group may be given now (Infinity without a cap). */
export function roomOf(groupId: string, inFlight: number, cap: number): number {
  if (cap === 0 || groupId === NO_GROUP) return Number.POSITIVE_INFINITY;
  return Math.max(0, cap - inFlight);
}

/**
 * The seqs to claim, up to `max`, in the order they are given out: each next message comes from
 * the group with the fewest in flight counting those already picked, ties to the oldest head.
 */
export function pickFairly(groups: readonly GroupState[], max: number, cap: number): number[] {
  const state = groups.map((group) => ({
    group,
    load: group.inFlight,
    taken: 0,
    room: roomOf(group.groupId, group.inFlight, cap),
  }));
  const picked: number[] = [];
  while (picked.length < max) {
    let best: (typeof state)[number] | undefined;
    let bestHead: Head | undefined;
    for (const candidate of state) {
      const head = candidate.group.heads[candidate.taken];
      if (!head || candidate.taken >= candidate.room) continue;
      if (
        !best ||
        !bestHead ||
        candidate.load < best.load ||
        (candidate.load === best.load && isOlder(head, bestHead))
      ) {
        best = candidate;
        bestHead = head;
      }
    }
    if (!best || !bestHead) break;
    picked.push(bestHead.seq);
    best.taken++;
    best.load++;
  }
  return picked;
}

function isOlder(a: Head, b: Head): boolean {
  return a.visibleAt < b.visibleAt || (a.visibleAt === b.visibleAt && a.seq < b.seq);
}
