import { ApiError } from '../api.js';

/** One line that says what went wrong and what to do; never a stack trace. */
export function ErrorLine({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof ApiError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  return <div class="error-line" role="alert">{text}</div>;
}
