/** The detection core's public surface. */
export { detect, type DetectOptions } from './detect.js';
export { detectInStages } from './detect-in-stages.js';
export { parseRecord, parseRecords } from './parse-record.js';
export { parseTimestamp } from './timestamp.js';
export { classify, createClassifier, type Classifier } from './classify.js';
export { watermark, type WatermarkMode } from './watermark.js';
export { dedupe } from './dedupe.js';
export { nonOwnerBurst } from './non-owner-burst.js';
export { crossDomainBurst } from './cross-domain-burst.js';
export { mailboxSweep } from './mailbox-sweep.js';
export { assembleCheckpoints } from './checkpoint.js';
export { alertId } from './alert-id.js';
export {
  normaliseClientIp,
  normaliseSid,
  normaliseUpn,
  normaliseUserId,
  domainOf,
  isSid,
} from './normalise.js';
export { emptyStats } from './types.js';
export type {
  Access,
  CoreInput,
  CoreOutput,
  CoreStats,
  DetectionConfig,
  RuleConfig,
  RuleName,
} from './types.js';
