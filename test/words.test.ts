// The words of messages (ts/core/words.ts): the edit distance and the did-you-mean rule case by case, each case
// one a plausible slip in them would change (found by `npm run mutate:ts`). Pure functions: tested from the sources.
import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, plural, suggestion, suggestionAfter } from '../ts/core/words.js';

describe('editDistance (optimal string alignment)', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('ab', 'xy')).toBe(2);
  });
  it('counts a swap of neighbours as one edit, and only a swap', () => {
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('epcohs', 'epochs')).toBe(1);
    expect(editDistance('trian', 'train')).toBe(1);
    // one letter matching across the diagonal is not a swap
    expect(editDistance('ab', 'xa')).toBe(2);
    expect(editDistance('ab', 'bx')).toBe(2);
    expect(editDistance('abc', 'cba')).toBe(2);
  });
});

describe('didYouMean', () => {
  it('suggests nothing for an empty name, whatever the candidates', () => {
    expect(didYouMean('', ['a', 'lr'])).toBeUndefined();
    expect(didYouMean('-_', ['x'])).toBeUndefined();
  });
  it('prefers an exact match (but for case, - and _) to a prefix', () => {
    expect(didYouMean('epoch', ['epochs', 'Epoch'])).toBe('Epoch');
    expect(didYouMean('WEIGHT-DECAY', ['weightDecays', 'weightDecay'])).toBe('weightDecay');
  });
  it('takes a prefix from 3 letters on, either way round, the closest in length first', () => {
    expect(didYouMean('epo', ['epochs'])).toBe('epochs');
    expect(didYouMean('ep', ['epochs'])).toBeUndefined();
    expect(didYouMean('batchsizes', ['batch'])).toBe('batch');
    expect(didYouMean('step', ['stepSize', 'steps'])).toBe('steps');
    // the shorter name 5 letters off loses to the longer one 1 letter off
    expect(didYouMean('epochsss', ['epo', 'epochsssx'])).toBe('epochsssx');
  });
  it('prefers a prefix to a name one edit away', () => {
    expect(didYouMean('epoch', ['epich', 'epochs'])).toBe('epochs');
  });
  it('allows about a third of the shorter name in edits, and at least one', () => {
    expect(didYouMean('l', ['lr'])).toBe('lr');
    expect(didYouMean('mommentun', ['momentum'])).toBe('momentum'); // 2 edits, 8 letters
    expect(didYouMean('abcdef', ['xabcdefyz'])).toBeUndefined(); // 3 edits: a third of 9, not of 6
    expect(didYouMean('abcdef', ['abxdxf'])).toBe('abxdxf'); // 2 edits of 6
    expect(didYouMean('abcdef', ['axxdxf'])).toBeUndefined(); // 3
  });
  it('keeps the first of equally good candidates', () => {
    expect(didYouMean('ab', ['ac', 'ba'])).toBe('ac');
  });
});

describe('message tails', () => {
  it('suggestion and suggestionAfter add nothing when nothing is close', () => {
    expect(suggestion('zzz', ['epochs'])).toBe('');
    expect(suggestionAfter('zzz', ['epochs'])).toBe('');
    expect(suggestion('epoch', ['epochs'])).toBe(', did you mean "epochs"?');
    expect(suggestion('epoch', ['epochs'], (s) => `'${s}'`)).toBe(", did you mean 'epochs'?");
    expect(suggestionAfter('relu', ['ReLU'])).toBe(' (did you mean "ReLU"?)');
  });
  it('plural', () => {
    expect(plural(1, 'epoch')).toBe('1 epoch');
    expect(plural(3, 'epoch')).toBe('3 epochs');
    expect(plural(2, 'matrix', 'matrices')).toBe('2 matrices');
  });
});
