// Original file: proto/berth/v1/common.proto

import type { Disk as _berth_v1_Disk, Disk__Output as _berth_v1_Disk__Output } from '../../berth/v1/Disk.js';
import type { Filesystem as _berth_v1_Filesystem, Filesystem__Output as _berth_v1_Filesystem__Output } from '../../berth/v1/Filesystem.js';
import type { NetInterface as _berth_v1_NetInterface, NetInterface__Output as _berth_v1_NetInterface__Output } from '../../berth/v1/NetInterface.js';
import type { Long } from '@grpc/proto-loader';

export interface HostFacts {
  'hostname'?: (string);
  'os_distro'?: (string);
  'os_release'?: (string);
  'kernel'?: (string);
  'arch'?: (string);
  'cpu_model'?: (string);
  'cpu_cores'?: (number);
  'cpu_physical_cores'?: (number);
  'cpu_speed_ghz'?: (number | string);
  'memory_total_bytes'?: (number | string | Long);
  'disks'?: (_berth_v1_Disk)[];
  'filesystems'?: (_berth_v1_Filesystem)[];
  'interfaces'?: (_berth_v1_NetInterface)[];
  'virtual'?: (boolean);
  'hypervisor'?: (string);
  'system_vendor'?: (string);
  'system_model'?: (string);
  'agent_version'?: (string);
  'allow_root'?: (boolean);
}

export interface HostFacts__Output {
  'hostname': (string);
  'os_distro': (string);
  'os_release': (string);
  'kernel': (string);
  'arch': (string);
  'cpu_model': (string);
  'cpu_cores': (number);
  'cpu_physical_cores': (number);
  'cpu_speed_ghz': (number);
  'memory_total_bytes': (number);
  'disks': (_berth_v1_Disk__Output)[];
  'filesystems': (_berth_v1_Filesystem__Output)[];
  'interfaces': (_berth_v1_NetInterface__Output)[];
  'virtual': (boolean);
  'hypervisor': (string);
  'system_vendor': (string);
  'system_model': (string);
  'agent_version': (string);
  'allow_root': (boolean);
}
