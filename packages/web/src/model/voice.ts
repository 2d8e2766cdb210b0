/**
 * Dictating a prompt with the Web Speech API. The browser parts are typed
 * here by hand (TypeScript's DOM library has the result types but not the
 * recogniser itself, which Chrome and Safari still ship as
 * `webkitSpeechRecognition`); the logic is pure so it is tested without a
 * microphone.
 */

export interface SpeechAlternativeLike {
  transcript: string;
}
export interface SpeechResultLike {
  readonly isFinal: boolean;
  readonly length: number;
  [index: number]: SpeechAlternativeLike | undefined;
}
export interface SpeechResultListLike {
  readonly length: number;
  [index: number]: SpeechResultLike | undefined;
}

export interface SpeechRecognitionLike {
  lang: string;
  continuous: boolean;
  interimResults: boolean;
  onresult: ((e: { results: SpeechResultListLike }) => void) | null;
  onerror: ((e: { error: string }) => void) | null;
  onend: (() => void) | null;
  start(): void;
  stop(): void;
  abort(): void;
}
export type SpeechRecognitionCtor = new () => SpeechRecognitionLike;

/** The recogniser constructor a window offers, or null where there is none (Firefox, most WebViews). */
export function speechRecognitionIn(win: object): SpeechRecognitionCtor | null {
  const w = win as { SpeechRecognition?: unknown; webkitSpeechRecognition?: unknown };
  const ctor = w.SpeechRecognition ?? w.webkitSpeechRecognition;
  return typeof ctor === 'function' ? (ctor as SpeechRecognitionCtor) : null;
}

/**
 * What has been heard so far: the final words and the still-changing tail.
 * A continuous recogniser reports every result of the session each time, so
 * this reads the whole list; empty results are skipped.
 */
export function heard(results: SpeechResultListLike): { final: string; interim: string } {
  const final: string[] = [];
  const interim: string[] = [];
  for (const r of Array.from(results)) {
    const text = r?.[0]?.transcript.trim();
    if (!r || !text) continue;
    (r.isFinal ? final : interim).push(text);
  }
  return { final: final.join(' '), interim: interim.join(' ') };
}

/**
 * `text` with a transcript appended: separated by one space (or nothing
 * after a newline or existing space), the transcript's own spacing trimmed.
 * A transcript of nothing leaves the text as it was.
 */
export function appendTranscript(text: string, transcript: string): string {
  const words = transcript.replace(/\s+/g, ' ').trim();
  if (!words) return text;
  if (text === '' || /\s$/.test(text)) return text + words;
  return `${text} ${words}`;
}

/** One line for a recogniser error, or null for the ones that are not worth saying (silence, a stop). */
export function speechErrorMessage(code: string): string | null {
  switch (code) {
    case 'no-speech':
    case 'aborted':
      return null;
    case 'not-allowed':
    case 'service-not-allowed':
      return 'microphone blocked: allow it for this site to dictate';
    case 'audio-capture':
      return 'no microphone found';
    case 'network':
      return 'dictation needs a network connection';
    default:
      return `dictation failed (${code})`;
  }
}
