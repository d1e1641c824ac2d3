/**
 * Finds the speed engine's factory (`createSpeedEngine` of
 * src/speed/engine.ts) for the process wiring (cli/speed.ts, the embedded
 * cluster); `override` (tests only: the LAMINATE_SPEED_ENGINE environment
 * variable) names another module with the same export, imported by URL,
 * e.g. a fake engine that records its assignments.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage, LaminateError } from '../common/errors.js';
import { createSpeedEngine } from './engine.js';
import type { SpeedEngine, SpeedEngineOptions } from './speed-engine.js';

export type SpeedEngineFactory = (options: SpeedEngineOptions) => SpeedEngine;

/**
 * The factory exported as `createSpeedEngine` by the engine module, or by
 * `override` (a file path) when given.
 *
 * @throws LaminateError FAILED_PRECONDITION when the module is missing or exports no such function.
 */
export async function loadSpeedEngineFactory(override?: string): Promise<SpeedEngineFactory> {
  if (override === undefined || override === '') return (options) => createSpeedEngine(options);
  const url = pathToFileURL(resolve(override)).href;
  let mod: unknown;
  try {
    mod = await import(url);
  } catch (err) {
    throw new LaminateError('FAILED_PRECONDITION', `Expected a speed engine module at ${url}, but it could not be loaded: ${errorMessage(err)}`, { cause: err });
  }
  const factory = (mod as { createSpeedEngine?: unknown }).createSpeedEngine;
  if (typeof factory !== 'function') {
    throw new LaminateError('FAILED_PRECONDITION', `Expected the speed engine module ${url} to export a function createSpeedEngine, got ${typeof factory}`);
  }
  return factory as SpeedEngineFactory;
}
