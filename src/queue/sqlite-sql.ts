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
  dead_letter_reason TEXT
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

/** queue, id, body, attributes, sent_at, visible_at, expires_at */
export const INSERT = `INSERT INTO queue_messages (queue, id, body, attributes, sent_at, visible_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`;

/** receipt, visible_at, first_received_at, queue, now, now, limit */
export const CLAIM = `UPDATE queue_messages
            SET receive_count = receive_count + 1, receipt = ?, visible_at = ?,
                first_received_at = coalesce(first_received_at, ?)
          WHERE seq IN (SELECT seq FROM queue_messages
                         WHERE queue = ? AND visible_at <= ? AND expires_at > ?
                         ORDER BY visible_at, seq LIMIT ?)
          RETURNING seq, id, body, attributes, receive_count, sent_at, first_received_at`;

/** dead-letter queue, now, retention ms, uncount, reason, seq */
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
