const integer = new Intl.NumberFormat('en-US');
const money = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});

export const formatCount = (n: number) => integer.format(n);
const wholeMoney = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compactMoney = new Intl.NumberFormat('en-US', {
  notation: 'compact',
  maximumSignificantDigits: 3,
});

/**
 * An amount in the file's own currency: its symbol before ("$1,234.50"), its code after
 * ("1,234.50 EUR"), or the bare number when the file names none. `short` rounds for a card:
 * whole units from 1,000, then "3.92M".
 */
export function formatMoney(n: number, currency?: string | null, short = false): string {
  const amount = !short
    ? money.format(n)
    : Math.abs(n) >= 100_000
      ? compactMoney.format(n)
      : Math.abs(n) >= 1000
        ? wholeMoney.format(n)
        : money.format(n);
  if (!currency) return amount;
  if (/^[A-Z]{3}$/.test(currency)) return `${amount} ${currency}`;
  return n < 0 ? `-${currency}${amount.slice(1)}` : `${currency}${amount}`;
}
export const formatPercent = (p: number, digits = 1) => `${(p * 100).toFixed(digits)}%`;

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
