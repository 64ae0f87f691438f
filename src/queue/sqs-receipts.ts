/**
 * What this process knows about the receipt handles it was given. SQS cannot read a message by
 * its receipt handle, yet moveToDeadLetter must send the message's body on to the dead-letter
 * queue: so every message received stays here until it is settled or its lease has long expired.
 */
import type { MessageAttributes } from './port.js';

export interface HeldMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: MessageAttributes;
  readonly receiveCount: number;
  readonly sentAt: number;
  /** When the lease ends as far as this process knows (receive or last visibility change). */
  leaseEndsAt: number;
}

/** A held message whose lease ended this long ago cannot be settled any more: forget it. */
const FORGET_AFTER_LEASE_MS = 60_000;
/** Settled handles remembered, so that settling one twice is refused as SQLite does. */
const MAX_SETTLED = 10_000;

export class ReceiptBook {
  private readonly held = new Map<string, HeldMessage>();
  private readonly settled = new Map<string, true>();

  constructor(private readonly now: () => number = Date.now) {}

  hold(receiptHandle: string, message: HeldMessage): void {
    this.forgetExpired();
    this.held.set(receiptHandle, message);
  }

  get(receiptHandle: string): HeldMessage | undefined {
    return this.held.get(receiptHandle);
  }

  leaseFor(receiptHandle: string, seconds: number): void {
    const message = this.held.get(receiptHandle);
    if (message) message.leaseEndsAt = this.now() + seconds * 1000;
  }

  /** The message is gone (deleted or dead-lettered) through this handle. */
  settle(receiptHandle: string): void {
    this.held.delete(receiptHandle);
    this.settled.set(receiptHandle, true);
    if (this.settled.size > MAX_SETTLED) {
      const oldest = this.settled.keys().next().value;
      if (oldest !== undefined) this.settled.delete(oldest);
    }
  }

  /**
   * True when this process already deleted or dead-lettered the message through this handle.
   * SQS itself accepts such a second delete silently; refusing it here makes a double
   * acknowledgement visible, as it is on the SQLite queue.
   */
  isSettled(receiptHandle: string): boolean {
    return this.settled.has(receiptHandle);
  }

  private forgetExpired(): void {
    const cutoff = this.now() - FORGET_AFTER_LEASE_MS;
    for (const [handle, message] of this.held) {
      if (message.leaseEndsAt < cutoff) this.held.delete(handle);
    }
  }
}
