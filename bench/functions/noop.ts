/** The functions benchmark's handler: does nothing but answer, so that what is timed is the path to it and back. */
import { defineFunction } from '../../src/api/function.js';

export default defineFunction(() => ({ ok: true }));
