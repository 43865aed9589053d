// Original file: proto/berth/v1/operator.proto

import type { ControllerMember as _berth_v1_ControllerMember, ControllerMember__Output as _berth_v1_ControllerMember__Output } from '../../berth/v1/ControllerMember.js';
import type { EtcdEndpoint as _berth_v1_EtcdEndpoint, EtcdEndpoint__Output as _berth_v1_EtcdEndpoint__Output } from '../../berth/v1/EtcdEndpoint.js';
import type { Long } from '@grpc/proto-loader';

export interface ListControllersResponse {
  'members'?: (_berth_v1_ControllerMember)[];
  'leader'?: (string);
  'leader_since_ms'?: (number | string | Long);
  'store'?: (string);
  'etcd'?: (_berth_v1_EtcdEndpoint)[];
  'now_ms'?: (number | string | Long);
  'gone'?: (_berth_v1_ControllerMember)[];
}

export interface ListControllersResponse__Output {
  'members': (_berth_v1_ControllerMember__Output)[];
  'leader': (string);
  'leader_since_ms': (number);
  'store': (string);
  'etcd': (_berth_v1_EtcdEndpoint__Output)[];
  'now_ms': (number);
  'gone': (_berth_v1_ControllerMember__Output)[];
}
