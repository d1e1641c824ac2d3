/**
 * The view key encoding, for storage code that looks for it here: it lives in
 * src/common/view-key.ts, since api/, serving/ and speed/ need it too and may
 * not import storage/.
 */
export {
  encodeViewKey, decodeViewKey, encodeKeyPrefix, compareKeyElements, parseKeyArgument, formatKeyArgument,
} from '../common/view-key.js';
export type { KeyElement, ViewKey } from '../common/view-key.js';
