import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Disk as _berth_v1_Disk, Disk__Output as _berth_v1_Disk__Output } from './berth/v1/Disk.js';
import type { Filesystem as _berth_v1_Filesystem, Filesystem__Output as _berth_v1_Filesystem__Output } from './berth/v1/Filesystem.js';
import type { HostFacts as _berth_v1_HostFacts, HostFacts__Output as _berth_v1_HostFacts__Output } from './berth/v1/HostFacts.js';
import type { NetInterface as _berth_v1_NetInterface, NetInterface__Output as _berth_v1_NetInterface__Output } from './berth/v1/NetInterface.js';
import type { Usage as _berth_v1_Usage, Usage__Output as _berth_v1_Usage__Output } from './berth/v1/Usage.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  berth: {
    v1: {
      Disk: MessageTypeDefinition<_berth_v1_Disk, _berth_v1_Disk__Output>
      Filesystem: MessageTypeDefinition<_berth_v1_Filesystem, _berth_v1_Filesystem__Output>
      HostFacts: MessageTypeDefinition<_berth_v1_HostFacts, _berth_v1_HostFacts__Output>
      NetInterface: MessageTypeDefinition<_berth_v1_NetInterface, _berth_v1_NetInterface__Output>
      Usage: MessageTypeDefinition<_berth_v1_Usage, _berth_v1_Usage__Output>
    }
  }
}

