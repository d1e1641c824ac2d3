import { describe, expect, it } from 'vitest';
import { formatDatasetCut, isDatasetInput, parseDatasetInput } from '../../../src/common/dataset-input.js';
import { throwsWith } from '../storage/helpers.js';

describe('dataset inputs', () => {
  it('tells dataset inputs from paths', () => {
    expect(isDatasetInput('dataset:clicks')).toBe(true);
    expect(isDatasetInput('/data/dataset:clicks')).toBe(false);
    expect(isDatasetInput('datasets/clicks')).toBe(false);
  });

  it('parses a name alone, and a name with a cut of one offset per partition', () => {
    expect(parseDatasetInput('dataset:clicks')).toEqual({ dataset: 'clicks' });
    expect(parseDatasetInput('dataset:clicks@1200,0,310,77')).toEqual({ dataset: 'clicks', cut: [1200, 0, 310, 77] });
    expect(parseDatasetInput('dataset:a.b-c_d@5')).toEqual({ dataset: 'a.b-c_d', cut: [5] });
    expect(parseDatasetInput(formatDatasetCut({ dataset: 'x', offsets: [9007199254740991, 0] }))).toEqual({ dataset: 'x', cut: [9007199254740991, 0] });
  });

  it('parses a range FROM..CUT, and refuses one that ends before it starts or whose sides differ in length', () => {
    expect(parseDatasetInput('dataset:clicks@10,0,5..1200,0,310')).toEqual({ dataset: 'clicks', cut: [1200, 0, 310], from: [10, 0, 5] });
    const c = { dataset: 'x', offsets: [7, 9], from: [3, 9] };
    expect(formatDatasetCut(c)).toBe('dataset:x@3,9..7,9');
    expect(parseDatasetInput(formatDatasetCut(c))).toEqual({ dataset: 'x', cut: [7, 9], from: [3, 9] });
    throwsWith(() => parseDatasetInput('dataset:c@5,1..4,2'), 'INVALID_ARGUMENT', /to start at or before its end in every partition .*got 5,1\.\.4,2/);
    throwsWith(() => parseDatasetInput('dataset:c@1..4,2'), 'INVALID_ARGUMENT', /as many offsets on each side/);
    throwsWith(() => parseDatasetInput('dataset:c@x..4'), 'INVALID_ARGUMENT', /Expected offset 0 of the start in --input/);
  });

  it('refuses a missing name and offsets that are not non-negative integers, naming the input and the offset', () => {
    throwsWith(() => parseDatasetInput('dataset:'), 'INVALID_ARGUMENT', /^Expected a dataset name after 'dataset:' in --input 'dataset:', got none$/);
    throwsWith(() => parseDatasetInput('dataset:@1,2'), 'INVALID_ARGUMENT', /Expected a dataset name/);
    throwsWith(() => parseDatasetInput('dataset:c@a,b,c,d'), 'INVALID_ARGUMENT', /^Expected offset 0 of the cut in --input 'dataset:c@a,b,c,d' to be a non-negative integer \(one offset per partition, comma-separated\), got 'a'$/);
    throwsWith(() => parseDatasetInput('dataset:c@1,-2'), 'INVALID_ARGUMENT', /Expected offset 1 .* got '-2'/);
    throwsWith(() => parseDatasetInput('dataset:c@1,,3'), 'INVALID_ARGUMENT', /Expected offset 1 .* got ''/);
    throwsWith(() => parseDatasetInput('dataset:c@'), 'INVALID_ARGUMENT', /Expected offset 0 .* got ''/);
    throwsWith(() => parseDatasetInput('dataset:c@1.5'), 'INVALID_ARGUMENT', /got '1.5'/);
    throwsWith(() => parseDatasetInput('dataset:c@99999999999999999'), 'INVALID_ARGUMENT', /got '99999999999999999'/);
    throwsWith(() => parseDatasetInput('/in/clicks'), 'INVALID_ARGUMENT', /Expected a dataset input such as 'dataset:clicks'/);
  });
});
