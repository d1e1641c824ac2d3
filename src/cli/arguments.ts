/** Parsers of the commands' flag values: each says what it expected and what it got. */
import { InvalidArgumentError } from 'commander';
import { errorMessage } from '../common/errors.js';
import { parseAddress } from '../protocol/master-rpc.js';
import { isS3Path } from '../storage/object-store.js';
import { absoluteStorePath, parseS3Path } from '../storage/store-path.js';

export function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
      throw new InvalidArgumentError(`Expected ${flag} to be a positive integer, got '${value}'`);
    }
    return n;
  };
}

export function nonNegativeInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
      throw new InvalidArgumentError(`Expected ${flag} to be a whole number (0 or more), got '${value}'`);
    }
    return n;
  };
}

/** A whole number from 0 to `max` (`flag` names it in the error). */
export function intUpTo(flag: string, max: number) {
  const whole = nonNegativeInt(flag);
  return (value: string): number => {
    const n = whole(value);
    if (n > max) throw new InvalidArgumentError(`Expected ${flag} to be a whole number from 0 to ${max}, got '${value}'`);
    return n;
  };
}

export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`Expected --port to be 0..65535, got '${value}'`);
  return n;
}

export function onOff(value: string): boolean {
  if (value !== 'on' && value !== 'off') throw new InvalidArgumentError(`Expected --speculation to be on or off, got '${value}'`);
  return value === 'on';
}

/** A --master HOST:PORT. */
export function address(value: string): string {
  return hostPort(value, '--master');
}

/** A --shuffle-service HOST:PORT. */
export function shuffleServiceAddress(value: string): string {
  return hostPort(value, '--shuffle-service');
}

function hostPort(value: string, flag: string): string {
  try {
    parseAddress(value, flag);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
  return value;
}

/** A folder (made absolute against the working folder) or an s3:// URL, whose bucket name is checked here so that a typo fails at start. */
export function storePath(flag: string) {
  return (value: string): string => {
    if (isS3Path(value)) {
      try {
        parseS3Path(value);
      } catch (err) {
        throw new InvalidArgumentError(`${flag}: ${errorMessage(err)}`);
      }
    }
    return absoluteStorePath(value);
  };
}
