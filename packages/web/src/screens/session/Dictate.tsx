import { useEffect, useRef, useState } from 'preact/hooks';
import {
  appendTranscript,
  heard,
  speechErrorMessage,
  speechRecognitionIn,
  type SpeechRecognitionLike,
} from '../../model/voice.js';
import './session.css';

/**
 * "Dictate a prompt": a mic button that appends what the Web Speech API
 * hears to `value`. Rendered only where the browser has a recogniser;
 * elsewhere there is no button at all.
 */
export function Dictate({ value, onChange }: { value: string; onChange: (text: string) => void }) {
  const Recognition = speechRecognitionIn(window);
  const [listening, setListening] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const rec = useRef<SpeechRecognitionLike | null>(null);
  // The latest prompt and setter, for the recogniser's callbacks.
  const latest = useRef({ value, onChange });
  latest.current = { value, onChange };
  useEffect(() => () => rec.current?.abort(), []);
  if (!Recognition) return null;

  const start = () => {
    setError(null);
    const r = new Recognition();
    r.lang = navigator.language || 'en-US';
    r.continuous = true;
    r.interimResults = true;
    // Words land after what was there when dictation began; interim words are replaced as they firm up.
    const base = latest.current.value;
    r.onresult = (e) => {
      const { final, interim } = heard(e.results);
      latest.current.onChange(appendTranscript(base, [final, interim].filter(Boolean).join(' ')));
    };
    r.onerror = (e) => setError(speechErrorMessage(e.error));
    r.onend = () => {
      setListening(false);
      rec.current = null;
    };
    rec.current = r;
    try {
      r.start();
      setListening(true);
    } catch {
      setError('dictation could not start');
      rec.current = null;
    }
  };
  const stop = () => rec.current?.stop();

  return (
    <>
      <button
        type="button"
        class="mic"
        data-testid="dictate"
        aria-pressed={listening}
        aria-label="dictate a prompt"
        onClick={listening ? stop : start}
      >
        <svg viewBox="0 0 16 16" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.6">
          <rect x="5.5" y="1.5" width="5" height="8.5" rx="2.5" />
          <path d="M3 8a5 5 0 0 0 10 0M8 13v2" />
        </svg>
        {listening ? 'stop' : 'dictate'}
      </button>
      {error && (
        <span class="tiny bad" role="alert">
          {error}
        </span>
      )}
    </>
  );
}
