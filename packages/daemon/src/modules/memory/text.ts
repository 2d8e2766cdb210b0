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
  (
    'a about above after again all also am an and any are as at be because been before being below between both but by can ' +
    'could did do does doing done down during each few for from further had has have having he her here hers him his how i ' +
    'if in into is it its itself just let me more most my no nor not now of off on once only or other our ours out over own ' +
    'same she should so some such than that the their them then there these they this those through to too under until up ' +
    'us very was we were what when where which while who whom why will with would you your yours'
  ).split(' '),
);

/** Fold case and accents: `Déploiement` → `deploiement`. */
export function foldText(text: string): string {
  return text.normalize('NFKD').replace(MARKS_RE, '').toLowerCase();
}

/** The words of a text, folded, in order (duplicates kept). */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const m of foldText(text).matchAll(WORD_RE))
    out.push(m[0].length > MAX_WORD_CHARS ? m[0].slice(0, MAX_WORD_CHARS) : m[0]);
  return out;
}

/** The words that carry meaning: stopwords dropped, unless nothing else is left. */
export function contentWords(text: string): string[] {
  const all = words(text);
  const content = all.filter((w) => !STOPWORDS.has(w));
  return content.length > 0 ? content : all;
}

/**
 * A light English suffix stripper: enough for `deploys`/`deploying`/`deployed`
 * /`deployment`, `rotate`/`rotation`, `key`/`keys` to meet, never so eager
 * that short words lose their root. The index searches words by these stems
 * (so a query term's document frequency can be read from the index, see
 * recall.ts) and the embedder hashes them.
 */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  for (const suffix of [
    'ments',
    'ment',
    'ings',
    'ing',
    'ions',
    'ion',
    'ies',
    'edly',
    'ed',
    'ers',
    'er',
    'ly',
    'es',
    's',
  ]) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3 && !(suffix === 's' && word.endsWith('ss'))) {
      const root = suffix === 'ies' ? `${word.slice(0, -3)}y` : word.slice(0, -suffix.length);
      return root.endsWith('e') && root.length > 3 ? root.slice(0, -1) : root;
    }
  }
  return word.endsWith('e') ? word.slice(0, -1) : word;
}

// Words repeat a lot across chunks; stemming each once saves a fifth of a rebuild.
const stems = new Map<string, string>();

/** stem(), remembered for the last 50,000 distinct words. */
export function stemmed(word: string): string {
  let s = stems.get(word);
  if (s === undefined) {
    if (stems.size >= 50_000) stems.clear();
    s = stem(word);
    stems.set(word, s);
  }
  return s;
}

/** The stems of a text's words, space-separated: what the full-text index holds. */
export function stemText(text: string): string {
  return words(text).map(stemmed).join(' ');
}

/** Tokens a model would spend on a text, estimated as characters / 4 (rounded up). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
