/**
 * The PostgreSQL queue's table and statements. Same design as the SQLite queue (one table holds a
 * queue and its dead-letter queue; times are epoch milliseconds), with PostgreSQL's row locks:
 * a claim skips rows another claim holds (FOR UPDATE SKIP LOCKED) instead of waiting for them.
 *
 * Time is the database's clock, so that workers on many machines agree on when a message becomes
 * visible whatever their own clocks say. `$1` of every statement that reads the clock is an
 * offset in milliseconds added to it: 0 in production, moved forward by tests.
 */
const NOW = '(floor(extract(epoch from statement_timestamp()) * 1000)::bigint + $1::bigint)';

/** The channel every queue notifies on; the payload names the schema and the queue. */
export const NOTIFY_CHANNEL = 'churnline_queue';

/**
 * One advisory lock around the DDL, so that processes starting at once do not race on it. Each
 * piece of DDL runs only when what it makes is missing: PostgreSQL checks CREATE on the schema
 * even for CREATE ... IF NOT EXISTS, so a role that was granted the tables (made by the owner,
 * e.g. with `churnline setup`) but may not create could otherwise never use the queue.
 * group_id came later: a table from before gets it ('' for every message: no group). Fair claims
 * list the groups through queue_messages_group_ready (one seek per group, reading each one's
 * oldest visible message on the way) and count those in flight through queue_messages_group_held,
 * which holds received rows only.
 */
export const SCHEMA = `
SELECT pg_advisory_xact_lock(hashtext('churnline_queue_schema'));
DO $schema$
BEGIN
  IF to_regclass('queue_messages') IS NULL THEN
    CREATE TABLE queue_messages (
      seq                bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      queue              text    NOT NULL,
      id                 text    NOT NULL UNIQUE,
      body               text    NOT NULL,
      attributes         text,
      sent_at            bigint  NOT NULL,
      visible_at         bigint  NOT NULL,
      expires_at         bigint  NOT NULL,
      receive_count      integer NOT NULL DEFAULT 0,
      first_received_at  bigint,
      receipt            text,
      dead_letter_reason text,
      group_id           text    NOT NULL DEFAULT ''
    );
    CREATE INDEX queue_messages_ready ON queue_messages (queue, visible_at, seq);
    CREATE INDEX queue_messages_expiry ON queue_messages (queue, expires_at);
  END IF;
  -- pg_attribute, not information_schema: the latter hides the columns of tables this role
  -- was not granted, and the ALTER would then fail with "must own table".
  IF NOT EXISTS (SELECT 1 FROM pg_attribute
                  WHERE attrelid = to_regclass('queue_messages') AND attname = 'group_id'
                    AND NOT attisdropped) THEN
    ALTER TABLE queue_messages ADD COLUMN group_id text NOT NULL DEFAULT '';
  END IF;
  IF to_regclass('queue_messages_group_ready') IS NULL THEN
    CREATE INDEX queue_messages_group_ready ON queue_messages (queue, group_id, visible_at, seq);
  END IF;
  IF to_regclass('queue_messages_group_held') IS NULL THEN
    CREATE INDEX queue_messages_group_held
      ON queue_messages (queue, group_id, visible_at) WHERE receipt IS NOT NULL;
  END IF;
END
$schema$;
`;

/** The payload of this connection's notifications for queue `$n`. */
const notifyPayload = (queueParam: string) => `current_schema() || '.' || ${queueParam}::text`;

/**
 * $1 offset, $2 queue, $3 retention ms, $4 ids, $5 bodies, $6 attributes, $7 delays ms, $8 groups
 * ('' for none). Inserts the batch and notifies listeners in the same statement, so they hear of
 * it on commit.
 */
export const INSERT_MESSAGES = `
WITH inserted AS (
  INSERT INTO queue_messages
    (queue, id, body, attributes, sent_at, visible_at, expires_at, group_id)
  SELECT $2::text, m.id, m.body, m.attributes, ${NOW}, ${NOW} + m.delay_ms, ${NOW} + $3::bigint,
         m.group_id
    FROM unnest($4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])
      AS m(id, body, attributes, delay_ms, group_id)
  RETURNING 1)
SELECT pg_notify('${NOTIFY_CHANNEL}', ${notifyPayload('$2')})
  FROM (SELECT 1 FROM inserted LIMIT 1) AS any_inserted`;

/**
 * $1 offset, $2 queue, $3 maxReceiveCount, $4 max messages, $5 dead-letter queue, $6 receipt,
 * $7 visibility ms, $8 dead-letter retention ms, $9 dead-letter reason, $10 cap per group (0:
 * none), $11 groups and messages per group to read.
 *
 * One statement claims up to $4 visible messages fairly across groups (fair-order.ts): it lists
 * the groups by skipping through the (queue, group_id, ...) index, one seek each, with each one's
 * oldest visible message; counts messages in flight by group in the index of received rows (a
 * handful); keeps the $11 groups first in line (fewest in flight, then oldest head; a group
 * further back cannot be reached in a claim of $4 ≤ $11) and reads their oldest visible messages
 * (no more than a cap leaves room for); and takes them in order of the group's load (in flight,
 * plus those ahead of it in this claim), then age. $11 exceeds $4 so that a claim whose first
 * choices another claim has just locked takes the next ones instead of nothing. Messages already
 * received $3 times go to the dead-letter queue instead (`exhausted`), as SQS does on the
 * receive after the limit.
 */
export const FAIR_CLAIM = `
WITH RECURSIVE groups AS (
  (SELECT group_id FROM queue_messages WHERE queue = $2::text ORDER BY group_id LIMIT 1)
  UNION ALL
  SELECT (SELECT m.group_id FROM queue_messages AS m
           WHERE m.queue = $2::text AND m.group_id > g.group_id
           ORDER BY m.group_id LIMIT 1)
    FROM groups AS g WHERE g.group_id IS NOT NULL),
held AS MATERIALIZED (
  SELECT group_id, count(*)::int AS in_flight FROM queue_messages
   WHERE queue = $2::text AND receipt IS NOT NULL AND visible_at > ${NOW}
   GROUP BY group_id),
heads AS MATERIALIZED (
  SELECT g.group_id, coalesce(h.in_flight, 0) AS in_flight, f.seq, f.visible_at
    FROM groups AS g
    LEFT JOIN held AS h ON h.group_id = g.group_id
   CROSS JOIN LATERAL (
     SELECT m.seq, m.visible_at FROM queue_messages AS m
      WHERE m.queue = $2::text AND m.group_id = g.group_id
        AND m.visible_at <= ${NOW} AND m.expires_at > ${NOW}
      ORDER BY m.visible_at, m.seq LIMIT 1) AS f
   WHERE g.group_id IS NOT NULL
     AND ($10::int = 0 OR g.group_id = '' OR coalesce(h.in_flight, 0) < $10::int)
   ORDER BY 2, f.visible_at, f.seq
   LIMIT $11::int),
candidates AS (
  SELECT c.seq, c.visible_at, l.in_flight + c.rank - 1 AS load
    FROM heads AS l
   CROSS JOIN LATERAL (
     SELECT m.seq, m.visible_at, row_number() OVER (ORDER BY m.visible_at, m.seq) AS rank
       FROM queue_messages AS m
      WHERE m.queue = $2::text AND m.group_id = l.group_id
        AND m.visible_at <= ${NOW} AND m.expires_at > ${NOW}
      ORDER BY m.visible_at, m.seq
      LIMIT CASE WHEN $10::int = 0 OR l.group_id = '' THEN $11::int
                 ELSE least($11::int, $10::int - l.in_flight) END) AS c),
picked AS (
  SELECT m.seq, m.receive_count >= $3::int AS exhausted, c.load, c.visible_at AS order_at
    FROM candidates AS c
    JOIN queue_messages AS m ON m.seq = c.seq
   WHERE m.queue = $2::text AND m.visible_at <= ${NOW} AND m.expires_at > ${NOW}
   ORDER BY c.load, c.visible_at, c.seq
   LIMIT $4::int
   FOR UPDATE OF m SKIP LOCKED)
UPDATE queue_messages AS m SET
  queue              = CASE WHEN p.exhausted THEN $5::text ELSE m.queue END,
  receive_count      = CASE WHEN p.exhausted THEN m.receive_count ELSE m.receive_count + 1 END,
  receipt            = CASE WHEN p.exhausted THEN NULL ELSE $6::text END,
  visible_at         = CASE WHEN p.exhausted THEN ${NOW} ELSE ${NOW} + $7::bigint END,
  expires_at         = CASE WHEN p.exhausted THEN m.sent_at + $8::bigint ELSE m.expires_at END,
  first_received_at  = CASE WHEN p.exhausted THEN m.first_received_at
                            ELSE coalesce(m.first_received_at, ${NOW}) END,
  dead_letter_reason = CASE WHEN p.exhausted THEN $9::text ELSE m.dead_letter_reason END
  FROM picked AS p
 WHERE m.seq = p.seq
RETURNING m.seq, m.id, m.body, m.attributes, m.receive_count, m.sent_at, m.first_received_at,
          p.exhausted, p.load, p.order_at`;

/**
 * With a cap per group, claims take turns (a transaction-scoped lock per queue, taken before the
 * claim reads anything): two claims at once would each see the other's group below its cap.
 * $1 queue.
 */
export const LOCK_CLAIMS = `
SELECT pg_advisory_xact_lock(hashtext('churnline_queue_claim:' || ${notifyPayload('$1')}))`;

/** $1 offset, $2 queue: milliseconds until the next hidden message becomes visible, or null. */
export const MS_UNTIL_NEXT_VISIBLE = `
SELECT min(visible_at) - ${NOW} AS wait_ms FROM queue_messages
 WHERE queue = $2::text AND visible_at > ${NOW} AND expires_at > ${NOW}`;

/** $1 queue, $2 seqs, $3 receipts: deletes the entries whose receipt is still current. */
export const DELETE_BY_RECEIPT = `
DELETE FROM queue_messages AS m
 USING unnest($2::bigint[], $3::text[]) AS e(seq, receipt)
 WHERE m.seq = e.seq AND m.receipt = e.receipt AND m.queue = $1::text
RETURNING m.seq, m.receipt`;

/**
 * $1 offset, $2 queue, $3 seqs, $4 receipts, $5 visibility ms each: extends (or with 0
 * releases) the entries that are still in flight under their current receipt.
 */
export const CHANGE_VISIBILITY = `
UPDATE queue_messages AS m SET visible_at = ${NOW} + e.ms
  FROM unnest($3::bigint[], $4::text[], $5::bigint[]) AS e(seq, receipt, ms)
 WHERE m.seq = e.seq AND m.receipt = e.receipt AND m.queue = $2::text AND m.visible_at > ${NOW}
RETURNING m.seq, m.receipt`;

/** $1 queue, $2 seqs, $3 receipts: which of these receipts are current (in flight or not). */
export const CURRENT_RECEIPTS = `
SELECT m.seq, m.receipt FROM queue_messages AS m
  JOIN unnest($2::bigint[], $3::text[]) AS e(seq, receipt)
    ON m.seq = e.seq AND m.receipt = e.receipt
 WHERE m.queue = $1::text`;

/**
 * $1 offset, $2 queue, $3 seq, $4 receipt, $5 dead-letter queue, $6 dead-letter retention ms,
 * $7 reason.
 */
export const MOVE_TO_DEAD_LETTER = `
UPDATE queue_messages SET queue = $5::text, receipt = NULL, visible_at = ${NOW},
       expires_at = sent_at + $6::bigint, dead_letter_reason = $7::text
 WHERE seq = $3::bigint AND receipt = $4::text AND queue = $2::text`;

/** $1 offset, $2 queue, $3 dead-letter queue: depth of both, with the clock used. */
export const DEPTH = `
SELECT queue,
       count(*) FILTER (WHERE visible_at <= ${NOW}) AS visible,
       count(*) FILTER (WHERE visible_at > ${NOW} AND receipt IS NOT NULL) AS in_flight,
       count(*) FILTER (WHERE visible_at > ${NOW} AND receipt IS NULL) AS delayed,
       ${NOW} - min(sent_at) AS oldest_age_ms
  FROM queue_messages
 WHERE queue IN ($2::text, $3::text) AND expires_at > ${NOW}
 GROUP BY queue`;

/** $1 offset, $2 dead-letter queue, $3 max. */
export const LIST_DEAD_LETTERS = `
SELECT id, body, attributes, receive_count, sent_at, dead_letter_reason FROM queue_messages
 WHERE queue = $2::text AND expires_at > ${NOW}
 ORDER BY seq LIMIT $3::bigint`;

/**
 * $1 offset, $2 dead-letter queue, $3 max (null: all), $4 queue, $5 retention ms.
 * Moves the oldest dead letters back as new messages: new id, no receives, sent now.
 */
export const REDRIVE = `
WITH picked AS (
  SELECT seq FROM queue_messages
   WHERE queue = $2::text AND expires_at > ${NOW}
   ORDER BY seq LIMIT $3::bigint
   FOR UPDATE SKIP LOCKED),
moved AS (
  UPDATE queue_messages AS m
     SET queue = $4::text, id = gen_random_uuid()::text, receive_count = 0, receipt = NULL,
         first_received_at = NULL, sent_at = ${NOW}, visible_at = ${NOW},
         expires_at = ${NOW} + $5::bigint, dead_letter_reason = NULL
    FROM picked AS p
   WHERE m.seq = p.seq
  RETURNING 1)
SELECT count(*) AS moved FROM moved`;

/** $1 offset, $2 queue, $3 dead-letter queue. */
export const PURGE_EXPIRED = `
DELETE FROM queue_messages WHERE queue IN ($2::text, $3::text) AND expires_at <= ${NOW}`;

/** $1 queue: wakes waiting receivers, e.g. after a release with visibility 0 or a redrive. */
export const NOTIFY = `SELECT pg_notify('${NOTIFY_CHANNEL}', ${notifyPayload('$1')})`;

// Rows as node-pg returns them (int8 parsed to numbers by the pool).

export interface ClaimedRow {
  seq: number;
  id: string;
  body: string;
  attributes: string | null;
  receive_count: number;
  sent_at: number;
  first_received_at: number;
  exhausted: boolean;
  /** The claim's order: its group's load when it was taken, then its visibility time. */
  load: number;
  order_at: number;
}

export interface DepthRow {
  queue: string;
  visible: number;
  in_flight: number;
  delayed: number;
  oldest_age_ms: number | null;
}

export interface DeadLetterRow {
  id: string;
  body: string;
  attributes: string | null;
  receive_count: number;
  sent_at: number;
  dead_letter_reason: string | null;
}
