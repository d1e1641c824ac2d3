/** Parsers of the commands' flag values: each says what it expected and what it got. */
import { InvalidArgumentError } from 'commander';
import { errorMessage } from '../common/errors.js';
import { parseAddress } from '../protocol/master-rpc.js';

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
