/**
 * What the SQLite queue reads to claim fairly across message groups (fair-order.ts): its column
 * and index, and each group's load and oldest visible messages, inside the claim's transaction.
 */
import type Database from 'better-sqlite3';
import { type GroupState, type Head, roomOf } from './fair-order.js';

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
  db.exec(`CREATE INDEX IF NOT EXISTS queue_messages_group_ready
             ON queue_messages (queue, group_id, visible_at, seq)`);
}

export class SqliteGroups {
  private readonly sql;

  constructor(
    db: Database.Database,
    private readonly queue: string,
  ) {
    this.sql = {
      // Every group with a message in the queue (one index seek each) and its oldest visible one.
      groupHeads: db.prepare(
        `WITH RECURSIVE g(id) AS (
           SELECT (SELECT min(group_id) FROM queue_messages WHERE queue = @queue)
           UNION ALL
           SELECT (SELECT min(group_id) FROM queue_messages WHERE queue = @queue AND group_id > g.id)
             FROM g WHERE g.id IS NOT NULL),
         heads(group_id, seq) AS (
           SELECT id, (SELECT seq FROM queue_messages
                        WHERE queue = @queue AND group_id = g.id AND visible_at <= @now
                          AND expires_at > @now
                        ORDER BY visible_at, seq LIMIT 1)
             FROM g WHERE id IS NOT NULL)
         SELECT heads.group_id, heads.seq, m.visible_at AS visibleAt
           FROM heads JOIN queue_messages AS m ON m.seq = heads.seq`,
      ),
      // Messages in flight by group, from the rows hidden now (in flight or delayed): a handful.
      inFlight: db.prepare(
        `SELECT group_id, count(*) AS n FROM queue_messages
          WHERE queue = ? AND receipt IS NOT NULL AND visible_at > ? GROUP BY group_id`,
      ),
      heads: db.prepare(
        `SELECT seq, visible_at AS visibleAt FROM queue_messages
          WHERE queue = ? AND group_id = ? AND visible_at <= ? AND expires_at > ?
          ORDER BY visible_at, seq LIMIT ?`,
      ),
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
