// Original file: proto/berth/v1/operator.proto

import type { SpecFile as _berth_v1_SpecFile, SpecFile__Output as _berth_v1_SpecFile__Output } from '../../berth/v1/SpecFile.js';

export interface ApplyRequest {
  'files'?: (_berth_v1_SpecFile)[];
  'prune'?: (boolean);
}

export interface ApplyRequest__Output {
  'files': (_berth_v1_SpecFile__Output)[];
  'prune': (boolean);
}
