/**
 * A map output this reducer could not fetch: the map's output is taken as
 * lost, so the master blames the map attempt and runs the map again. Only
 * failures of the fetch itself become one (see fetchRuns).
 */
export class FetchFailure extends Error {
  constructor(readonly mapIndex: number, readonly mapAttemptId: string, message: string) {
    super(message);
    this.name = 'FetchFailure';
  }
}
