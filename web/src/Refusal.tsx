import type { ApiFailure } from './api';
import { onLinkClick } from './router';

/**
 * The API's refusal to score a file, known before anything was queued, as a short note with the
 * next step: a model that cannot read the file (422 no_fit, poor_fit) or is not ready (409). The
 * API's own message is written for API clients (it names endpoints and options), so the common
 * refusals are phrased here and anything else is shown as the API says it.
 */
export function ScoreRefusal(props: {
  failure: ApiFailure;
  uploadId: string;
  /** The model as named in a sentence; "the model" when unknown. */
  modelName?: string;
  modelId?: string;
  /** The check-columns link is left out on the check-columns page itself. */
  linkToCheck?: boolean;
  /** Scores with allowPartialFit; offered for a poor fit only. */
  onScoreAnyway?: () => void;
  busy?: boolean;
}) {
  const { failure } = props;
  const model = props.modelName ?? 'The model';
  const check = `/uploads/${props.uploadId}${props.modelId ? `?model=${encodeURIComponent(props.modelId)}` : ''}`;
  const train = `/uploads/${props.uploadId}/train`;
  let title: string;
  let text: string;
  switch (failure.code) {
    case 'no_fit':
      title = `${model} cannot read this file.`;
      text =
        'None of the columns it scores with were found, so there is nothing to score with. Match your columns to its inputs, or train a model on this file.';
      break;
    case 'poor_fit':
      title = `${model} would mostly be guessing on this file.`;
      text =
        "Too few of the columns it relies on were found. Match your columns to its inputs, train a model on this file, or score anyway: each missing input then counts as an average customer's.";
      break;
    case 'model_not_ready':
      title = `${model} cannot score yet.`;
      text = /still training/.test(failure.message)
        ? 'It is still training: score once its page says it is ready, or choose another model.'
        : 'Its training failed: train it again, or choose another model.';
      break;
    default:
      return (
        <p class="error" role="alert">
          {failure.message}
        </p>
      );
  }
  const fitProblem = failure.code === 'no_fit' || failure.code === 'poor_fit';
  return (
    <div class="refusal" role="alert">
      <p class="refusal-title">{title}</p>
      <p>{text}</p>
      {fitProblem && (
        <div class="refusal-actions">
          {props.linkToCheck && (
            <a class="button-link" href={check} onClick={onLinkClick}>
              Check columns
            </a>
          )}
          <a class="button-link secondary" href={train} onClick={onLinkClick}>
            Train a model on this file
          </a>
          {failure.code === 'poor_fit' && props.onScoreAnyway && (
            <button
              type="button"
              class="secondary"
              disabled={props.busy}
              onClick={props.onScoreAnyway}
            >
              Score anyway
            </button>
          )}
        </div>
      )}
    </div>
  );
}
