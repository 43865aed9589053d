// Original file: proto/berth/v1/operator.proto

import type { SpecFile as _berth_v1_SpecFile, SpecFile__Output as _berth_v1_SpecFile__Output } from '../../berth/v1/SpecFile.js';
import type { StoreRevisionCheck as _berth_v1_StoreRevisionCheck, StoreRevisionCheck__Output as _berth_v1_StoreRevisionCheck__Output } from '../../berth/v1/StoreRevisionCheck.js';

export interface ApplyRequest {
  'files'?: (_berth_v1_SpecFile)[];
  'prune'?: (boolean);
  'check'?: (_berth_v1_StoreRevisionCheck | null);
  'environment'?: (string);
}

export interface ApplyRequest__Output {
  'files': (_berth_v1_SpecFile__Output)[];
  'prune': (boolean);
  'check': (_berth_v1_StoreRevisionCheck__Output | null);
  'environment': (string);
}
