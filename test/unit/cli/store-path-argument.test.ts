import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { storePath } from '../../../src/cli/arguments.js';

describe('a --views or --function-code value', () => {
  it('keeps an s3:// URL as given, makes a folder absolute, and refuses a malformed bucket at once', () => {
    const parse = storePath('--views');
    expect(parse('s3://lake/views/')).toBe('s3://lake/views/');
    expect(parse('data/views')).toBe(resolve('data/views'));
    expect(parse('/srv/views')).toBe('/srv/views');
    expect(() => parse('s3://Lake_Views/x')).toThrow(InvalidArgumentError);
    expect(() => parse('s3://ab/x')).toThrow(/--views: Expected s3:\/\/BUCKET\/PREFIX .*got 's3:\/\/ab\/x'/);
  });
});
