import { useState } from 'preact/hooks';
import { asFailure } from './api';

/**
 * A button that starts a download: disabled and saying so while it is prepared, and the API's
 * reason beside it when it fails.
 */
export function DownloadButton(props: {
  label: string;
  busyLabel: string;
  download(): Promise<void>;
  disabled?: boolean;
  class?: string;
  wrapperClass: string;
}) {
  const [state, setState] = useState<'idle' | 'busy' | string>('idle');
  const start = async () => {
    setState('busy');
    try {
      await props.download();
      setState('idle');
    } catch (failure) {
      setState(asFailure(failure).message);
    }
  };
  return (
    <div class={props.wrapperClass}>
      <button
        type="button"
        class={props.class}
        onClick={start}
        disabled={state === 'busy' || props.disabled === true}
      >
        {state === 'busy' ? props.busyLabel : props.label}
      </button>
      {state !== 'idle' && state !== 'busy' && (
        <p class="error" role="alert">
          {state}
        </p>
      )}
    </div>
  );
}
