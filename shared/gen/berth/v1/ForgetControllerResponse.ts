// Original file: proto/berth/v1/operator.proto

import type { ControllerMember as _berth_v1_ControllerMember, ControllerMember__Output as _berth_v1_ControllerMember__Output } from '../../berth/v1/ControllerMember.js';

export interface ForgetControllerResponse {
  'forgotten'?: (_berth_v1_ControllerMember | null);
}

export interface ForgetControllerResponse__Output {
  'forgotten': (_berth_v1_ControllerMember__Output | null);
}
