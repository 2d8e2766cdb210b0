/**
 * Text helpers shared by the embedder, the chunker and the recall query: one
 * notion of a "word" everywhere (letters and digits of any script, case and
 * accents folded), one token estimate, one stopword list.
 */

/** Letters and digits of any script: what counts as a word. */
const WORD_RE = /[\p{L}\p{N}]+/gu;
const MARKS_RE = /\p{M}+/gu;
/** Longer "words" are base64, hashes or minified code: cut, they would only add noise. */
const MAX_WORD_CHARS = 40;

/**
 * Common English function words. They carry no topic, so a query made of
 * them must not count as a lexical match and they add noise to embeddings.
 */
export const STOPWORDS: ReadonlySet<string> = new Set(
  ('a about above after again all also am an and any are as at be because been before being below between both but by can ' +
    'could did do does doing done down during each few for from further had has have having he her here hers him his how i ' +
    'if in into is it its itself just let me more most my no nor not now of off on once only or other our ours out over own ' +
    'same she should so some such than that the their them then there these they this those through to too under until up ' +
    'us very was we were what when where which while who whom why will with would you your yours').split(' '),
);

/** Fold case and accents: `Déploiement` → `deploiement`. */
export function foldText(text: string): string {
  return text.normalize('NFKD').replace(MARKS_RE, '').toLowerCase();
}

/** The words of a text, folded, in order (duplicates kept). */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const m of foldText(text).matchAll(WORD_RE)) out.push(m[0].length > MAX_WORD_CHARS ? m[0].slice(0, MAX_WORD_CHARS) : m[0]);
  return out;
}

/** The words that carry meaning: stopwords dropped, unless nothing else is left. */
export function contentWords(text: string): string[] {
  const all = words(text);
  const content = all.filter((w) => !STOPWORDS.has(w));
  return content.length > 0 ? content : all;
}

/** Tokens a model would spend on a text, estimated as characters / 4 (rounded up). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
