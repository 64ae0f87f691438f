/**
 * The SQLite queue's table and statements, as text: the queue (sqlite.ts) prepares them, and
 * bench/sqlite-driver runs the very same text on better-sqlite3 and on Node's node:sqlite.
 * Times are epoch milliseconds; one table holds a queue and its dead-letter queue.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS queue_messages (
  seq               INTEGER PRIMARY KEY AUTOINCREMENT,
  queue             TEXT    NOT NULL,
  id                TEXT    NOT NULL UNIQUE,
  body              TEXT    NOT NULL,
  attributes        TEXT,
  sent_at           INTEGER NOT NULL,
  visible_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL,
  receive_count     INTEGER NOT NULL DEFAULT 0,
  first_received_at INTEGER,
  receipt           TEXT,
  dead_letter_reason TEXT,
  group_id          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS queue_messages_ready ON queue_messages (queue, visible_at);
CREATE INDEX IF NOT EXISTS queue_messages_expiry ON queue_messages (queue, expires_at);
`;

/** The connection settings the queue applies to its handle, in order. */
export const PRAGMAS = [
  'journal_mode = WAL',
  // NORMAL in WAL mode survives a process crash; only an OS crash can lose the last commits.
  'synchronous = NORMAL',
  'busy_timeout = 5000',
] as const;

/** queue, id, body, attributes, sent_at, visible_at, expires_at, group_id ('' for none) */
export const INSERT = `INSERT INTO queue_messages
  (queue, id, body, attributes, sent_at, visible_at, expires_at, group_id)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Receives the message `seq`, chosen by the fair order (sqlite-groups.ts, fair-order.ts): a new
 * receipt, hidden until the visibility timeout, counted.
 */
export const CLAIM = `UPDATE queue_messages
    SET receive_count = receive_count + 1, receipt = ?, visible_at = ?,
        first_received_at = coalesce(first_received_at, ?)
  WHERE seq = ?
  RETURNING seq, id, body, attributes, receive_count, sent_at, first_received_at`;

export const DEAD_LETTER = `UPDATE queue_messages
            SET queue = ?, receipt = NULL, visible_at = ?, expires_at = sent_at + ?,
                receive_count = receive_count - ?, dead_letter_reason = ?
          WHERE seq = ?`;

/** seq, receipt, queue */
export const DELETE_BY_RECEIPT =
  'DELETE FROM queue_messages WHERE seq = ? AND receipt = ? AND queue = ?';

/** visible_at, seq, receipt, queue, now */
export const EXTEND = `UPDATE queue_messages SET visible_at = ?
          WHERE seq = ? AND receipt = ? AND queue = ? AND visible_at > ?`;

/** seq, receipt, queue */
export const HOLDS_RECEIPT =
  'SELECT 1 FROM queue_messages WHERE seq = ? AND receipt = ? AND queue = ?';

/** queue, now, now; one value */
export const NEXT_VISIBLE_AT = `SELECT min(visible_at) FROM queue_messages
            WHERE queue = ? AND visible_at > ? AND expires_at > ?`;

/** @now, @queue */
export const DEPTH = `SELECT sum(visible_at <= @now) AS visible,
                sum(visible_at > @now AND receipt IS NOT NULL) AS in_flight,
                sum(visible_at > @now AND receipt IS NULL) AS delayed,
                min(sent_at) AS oldest
           FROM queue_messages WHERE queue = @queue AND expires_at > @now`;

/** dead-letter queue, now, limit */
export const LIST_DEAD = `SELECT id, body, attributes, receive_count, sent_at, dead_letter_reason
           FROM queue_messages WHERE queue = ? AND expires_at > ? ORDER BY seq LIMIT ?`;

/** queue, new id, sent_at, visible_at, expires_at, dead-letter queue, now */
export const REDRIVE = `UPDATE queue_messages
            SET queue = ?, id = ?, receive_count = 0, receipt = NULL, first_received_at = NULL,
                sent_at = ?, visible_at = ?, expires_at = ?, dead_letter_reason = NULL
          WHERE seq = (SELECT seq FROM queue_messages WHERE queue = ? AND expires_at > ?
                        ORDER BY seq LIMIT 1)`;

/** queue, dead-letter queue, now */
export const PURGE = 'DELETE FROM queue_messages WHERE queue IN (?, ?) AND expires_at <= ?';

/** One value; changes when another connection commits. */
export const DATA_VERSION = 'PRAGMA data_version';

/** Run after the group_id column exists (sqlite-groups.ts adds it to a table from before). */
export const GROUP_INDEX = `CREATE INDEX IF NOT EXISTS queue_messages_group_ready
  ON queue_messages (queue, group_id, visible_at, seq)`;

/**
 * Every group with a message in the queue (one index seek each, through
 * queue_messages_group_ready) and its oldest visible message. Named parameters: queue, now.
 */
export const GROUP_HEADS = `WITH RECURSIVE g(id) AS (
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
    FROM heads JOIN queue_messages AS m ON m.seq = heads.seq`;

/** Messages in flight by group, from the rows hidden now (in flight or delayed): a handful. queue, now */
export const IN_FLIGHT_BY_GROUP = `SELECT group_id, count(*) AS n FROM queue_messages
  WHERE queue = ? AND receipt IS NOT NULL AND visible_at > ? GROUP BY group_id`;

/** A group's oldest visible messages: queue, group_id, now, now, limit */
export const GROUP_HEAD_MESSAGES = `SELECT seq, visible_at AS visibleAt FROM queue_messages
  WHERE queue = ? AND group_id = ? AND visible_at <= ? AND expires_at > ?
  ORDER BY visible_at, seq LIMIT ?`;
