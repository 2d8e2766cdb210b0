import { describe, expect, it } from 'vitest';
import { appendTranscript, heard, speechErrorMessage, speechRecognitionIn, type SpeechResultLike } from './voice.js';

const result = (transcript: string, isFinal: boolean): SpeechResultLike => ({ isFinal, length: 1, 0: { transcript } });

describe('appendTranscript', () => {
  it('adds dictated words after what is typed, with one space between', () => {
    expect(appendTranscript('', 'fix the tests')).toBe('fix the tests');
    expect(appendTranscript('in packages/web', ' fix the tests ')).toBe('in packages/web fix the tests');
    expect(appendTranscript('first line\n', 'second  line')).toBe('first line\nsecond line');
    expect(appendTranscript('trailing space ', 'ok')).toBe('trailing space ok');
  });

  it('leaves the text alone when nothing was heard', () => {
    expect(appendTranscript('keep me', '   ')).toBe('keep me');
  });
});

describe('heard', () => {
  it("splits a recogniser's results into final words and the changing tail", () => {
    const list = {
      length: 4,
      0: result('run the', true),
      1: result(' tests ', true),
      2: result('', false),
      3: result('and then', false),
    };
    expect(heard(list)).toEqual({ final: 'run the tests', interim: 'and then' });
    expect(heard({ length: 0 })).toEqual({ final: '', interim: '' });
  });
});

describe('speechRecognitionIn', () => {
  it('finds the standard or the webkit-prefixed recogniser, or nothing', () => {
    class Rec {}
    expect(speechRecognitionIn({ SpeechRecognition: Rec })).toBe(Rec);
    expect(speechRecognitionIn({ webkitSpeechRecognition: Rec })).toBe(Rec);
    expect(speechRecognitionIn({})).toBeNull();
    expect(speechRecognitionIn({ SpeechRecognition: 'nope' })).toBeNull();
  });
});

describe('speechErrorMessage', () => {
  it('says what to do about a blocked microphone and stays quiet about silence', () => {
    expect(speechErrorMessage('not-allowed')).toMatch(/allow it/);
    expect(speechErrorMessage('no-speech')).toBeNull();
    expect(speechErrorMessage('weird')).toBe('dictation failed (weird)');
  });
});
