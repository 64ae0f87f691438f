import type { ConsumeOptions, ConsumeResult, SystemId } from './systems/system.js';

/** Messages from the bench's main process to a consumer child (over the IPC channel). */
export type ChildCommand =
  | {
      readonly type: 'prepare';
      readonly system: SystemId;
      readonly queue: string;
      readonly options: ConsumeOptions;
    }
  | { readonly type: 'go' }
  | { readonly type: 'listen'; readonly system: SystemId; readonly queue: string }
  | { readonly type: 'unlisten' }
  | { readonly type: 'close' };

/** Messages from a consumer child back to the main process. */
export type ChildReply =
  | { readonly type: 'hello' }
  | { readonly type: 'prepared' }
  | { readonly type: 'consumed'; readonly result: ConsumeResult }
  | { readonly type: 'listening' }
  | { readonly type: 'received'; readonly at: number }
  | { readonly type: 'unlistened' }
  | { readonly type: 'closed' }
  | { readonly type: 'error'; readonly message: string };

/** Environment variable carrying the JSON `Endpoints` to each child. */
export const ENDPOINTS_ENV = 'CHURNLINE_BENCH_ENDPOINTS';
