/**
 * What the SQLite queue reads to claim fairly across message groups (fair-order.ts): its column
 * and index, and each group's load and oldest visible messages, inside the claim's transaction.
 */
import type Database from 'better-sqlite3';
import { type GroupState, type Head, roomOf } from './fair-order.js';
import * as statements from './sqlite-sql.js';

/**
 * Adds what message groups need to a queue file, new or from before groups (whose messages get
 * the group '': none). The index lists the groups, one seek per group, reading each one's oldest
 * visible message on the way; counts in flight come from queue_messages_ready (the rows hidden
 * now: a handful however long the queue).
 */
export function addGroups(db: Database.Database): void {
  db.transaction(() => {
    const has = db
      .prepare("SELECT 1 FROM pragma_table_info('queue_messages') WHERE name = 'group_id'")
      .get();
    if (!has) db.exec("ALTER TABLE queue_messages ADD COLUMN group_id TEXT NOT NULL DEFAULT ''");
  }).immediate();
  db.exec(statements.GROUP_INDEX);
}

export class SqliteGroups {
  private readonly sql;

  constructor(
    db: Database.Database,
    private readonly queue: string,
  ) {
    this.sql = {
      groupHeads: db.prepare(statements.GROUP_HEADS),
      inFlight: db.prepare(statements.IN_FLIGHT_BY_GROUP),
      heads: db.prepare(statements.GROUP_HEAD_MESSAGES),
    };
  }

  /**
   * The groups a claim of `max` may take from, with their counts in flight and the oldest visible
   * messages each may be given. Only the `max` groups first in line (fewest in flight, then
   * oldest head) can be given any: each pick raises its group's load, so a group behind `max`
   * others would come after at least `max` picks. So heads beyond the first are read for those.
   */
  states(now: number, max: number, cap: number): GroupState[] {
    const inFlight = new Map(
      (this.sql.inFlight.all(this.queue, now) as Array<{ group_id: string; n: number }>).map(
        (row) => [row.group_id, row.n],
      ),
    );
    const first = (
      this.sql.groupHeads.all({ queue: this.queue, now }) as Array<Head & { group_id: string }>
    )
      .map((head) => ({ head, groupId: head.group_id, inFlight: inFlight.get(head.group_id) ?? 0 }))
      .filter((group) => roomOf(group.groupId, group.inFlight, cap) > 0)
      .sort(
        (a, b) =>
          a.inFlight - b.inFlight || a.head.visibleAt - b.head.visibleAt || a.head.seq - b.head.seq,
      )
      .slice(0, max);
    return first.map((group) => {
      const limit = Math.min(max, roomOf(group.groupId, group.inFlight, cap));
      return {
        groupId: group.groupId,
        inFlight: group.inFlight,
        heads:
          limit > 1
            ? (this.sql.heads.all(this.queue, group.groupId, now, now, limit) as Head[])
            : [{ seq: group.head.seq, visibleAt: group.head.visibleAt }],
      };
    });
  }
}
