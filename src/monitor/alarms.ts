import type { Logger } from '../log.js';
import type { QueueStats } from '../queue/port.js';

export interface AlarmThresholds {
  /** Raised when the dead-letter queue holds more messages than this. */
  readonly deadLetterDepth: number;
  /** Raised when the oldest message in the queue is older than this. */
  readonly oldestMessageAgeSeconds: number;
  /** Raised when more jobs than this wait in the outbox (the queue is not taking them). */
  readonly outboxPending?: number;
}

export interface AlarmState {
  readonly name: string;
  readonly active: boolean;
  readonly value: number | null;
  readonly threshold: number;
  readonly message: string;
  readonly since: string | null;
}

export interface Observation {
  /** Absent where this process does not watch the queue (an API-only process). */
  readonly queue?: QueueStats;
  readonly outboxPending: number;
}

type Notify = (transition: { alarm: AlarmState; raised: boolean }) => Promise<void>;

/**
 * Evaluates the alarms on each observation and acts on transitions only: a log line for every
 * raise and recovery, and the optional notifier (a Slack-compatible webhook) for each.
 */
export class Alarms {
  private states = new Map<string, AlarmState>();
  /** Event alarms (reported, not measured): when each was last reported. */
  private lastReported = new Map<string, number>();

  constructor(
    private readonly thresholds: AlarmThresholds,
    private readonly log: Logger,
    private readonly notify?: Notify,
    /** How long an event alarm stays raised after its last report. */
    private readonly eventHoldMs = EVENT_ALARM_HOLD_MS,
  ) {}

  current(): AlarmState[] {
    return [...this.states.values()];
  }

  /**
   * Raises an alarm on an event rather than a measurement (a job signed with a key this worker
   * lacks): it stays raised while such events keep coming, and recovers on the first evaluation
   * `eventHoldMs` after the last one. Only the raise notifies, not every repeat.
   */
  async report(name: string, message: string, now = new Date()): Promise<void> {
    this.lastReported.set(name, now.getTime());
    const previous = this.states.get(name);
    const state: AlarmState = {
      name,
      active: true,
      value: (previous?.active ? (previous.value ?? 0) : 0) + 1,
      threshold: 0,
      message,
      since: previous?.active ? previous.since : now.toISOString(),
    };
    this.states.set(name, state);
    if (!previous?.active) await this.announce({ alarm: state, raised: true });
  }

  async evaluate(observation: Observation, now = new Date()): Promise<AlarmState[]> {
    const { queue } = observation;
    const checks = [
      ...(queue === undefined
        ? []
        : [
            {
              name: 'dead_letter_depth',
              value: queue.deadLetter.visible as number | null,
              threshold: this.thresholds.deadLetterDepth,
              describe: (v: number | null, t: number) =>
                `${v} messages in the dead-letter queue (alarm above ${t})`,
            },
            {
              name: 'oldest_message_age',
              value: queue.oldestAgeSeconds,
              threshold: this.thresholds.oldestMessageAgeSeconds,
              describe: (v: number | null, t: number) =>
                v === null
                  ? 'queue is empty or its oldest message age is unknown'
                  : `oldest queued message is ${v} s old (alarm above ${t} s)`,
            },
          ]),
      ...(this.thresholds.outboxPending === undefined
        ? []
        : [
            {
              name: 'outbox_backlog',
              value: observation.outboxPending,
              threshold: this.thresholds.outboxPending,
              describe: (v: number | null, t: number) =>
                `${v} jobs waiting in the outbox to be sent (alarm above ${t})`,
            },
          ]),
    ];
    const transitions: Array<{ alarm: AlarmState; raised: boolean }> = [];
    for (const [name, at] of this.lastReported) {
      const state = this.states.get(name);
      if (!state?.active || now.getTime() - at < this.eventHoldMs) continue;
      const recovered = { ...state, active: false, since: now.toISOString() };
      this.states.set(name, recovered);
      transitions.push({ alarm: recovered, raised: false });
    }
    for (const check of checks) {
      const active = check.value !== null && check.value > check.threshold;
      const previous = this.states.get(check.name);
      const changed = (previous?.active ?? false) !== active;
      const state: AlarmState = {
        name: check.name,
        active,
        value: check.value,
        threshold: check.threshold,
        message: check.describe(check.value, check.threshold),
        since: changed ? now.toISOString() : (previous?.since ?? null),
      };
      this.states.set(check.name, state);
      if (changed) transitions.push({ alarm: state, raised: active });
    }
    for (const transition of transitions) await this.announce(transition);
    return this.current();
  }

  private async announce(transition: { alarm: AlarmState; raised: boolean }): Promise<void> {
    const { alarm, raised } = transition;
    if (raised)
      this.log.error(
        { alarm: alarm.name, value: alarm.value, threshold: alarm.threshold },
        `ALARM: ${alarm.message}`,
      );
    else
      this.log.info({ alarm: alarm.name, value: alarm.value }, `alarm recovered: ${alarm.message}`);
    await this.notify?.(transition).catch((error: unknown) => {
      this.log.warn({ err: error, alarm: alarm.name }, 'alarm webhook failed');
    });
  }
}

/** An event alarm stays raised this long after its last report (a few monitor intervals). */
export const EVENT_ALARM_HOLD_MS = 15 * 60_000;

/** Posts Slack-compatible JSON ({ text }) to a webhook URL on every alarm transition. */
export function webhookNotifier(url: string, timeoutMs = 5000): Notify {
  return async ({ alarm, raised }) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        text: `${raised ? ':rotating_light: Churnline alarm' : ':white_check_mark: Churnline recovered'}: ${alarm.message}`,
        alarm: alarm.name,
        state: raised ? 'ALARM' : 'OK',
        value: alarm.value,
        threshold: alarm.threshold,
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`webhook answered ${response.status}`);
  };
}
