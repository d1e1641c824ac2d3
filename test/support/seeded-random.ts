/** mulberry32, seeded, so every run of a test repeats (the engine's own, src/common/seeded-random.ts). */
export { seededRandom } from '../../src/common/seeded-random.js';
