import { ApiError } from '../api.js';

/** One line that says what went wrong and what to do; never a stack trace. */
export function ErrorLine({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div class="error-line" role="alert">
      {errorText(error)}
    </div>
  );
}

/** Anything thrown, as text: an API error with its code, an Error by its message, anything else as `String` makes it. */
function errorText(error: unknown): string {
  return error instanceof ApiError
    ? `${error.code}: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);
}
