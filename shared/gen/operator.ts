import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { CordonRequest as _berth_v1_CordonRequest, CordonRequest__Output as _berth_v1_CordonRequest__Output } from './berth/v1/CordonRequest.js';
import type { CreateTokenRequest as _berth_v1_CreateTokenRequest, CreateTokenRequest__Output as _berth_v1_CreateTokenRequest__Output } from './berth/v1/CreateTokenRequest.js';
import type { CreateTokenResponse as _berth_v1_CreateTokenResponse, CreateTokenResponse__Output as _berth_v1_CreateTokenResponse__Output } from './berth/v1/CreateTokenResponse.js';
import type { Disk as _berth_v1_Disk, Disk__Output as _berth_v1_Disk__Output } from './berth/v1/Disk.js';
import type { Event as _berth_v1_Event, Event__Output as _berth_v1_Event__Output } from './berth/v1/Event.js';
import type { Filesystem as _berth_v1_Filesystem, Filesystem__Output as _berth_v1_Filesystem__Output } from './berth/v1/Filesystem.js';
import type { GetHostRequest as _berth_v1_GetHostRequest, GetHostRequest__Output as _berth_v1_GetHostRequest__Output } from './berth/v1/GetHostRequest.js';
import type { Host as _berth_v1_Host, Host__Output as _berth_v1_Host__Output } from './berth/v1/Host.js';
import type { HostFacts as _berth_v1_HostFacts, HostFacts__Output as _berth_v1_HostFacts__Output } from './berth/v1/HostFacts.js';
import type { ListEventsRequest as _berth_v1_ListEventsRequest, ListEventsRequest__Output as _berth_v1_ListEventsRequest__Output } from './berth/v1/ListEventsRequest.js';
import type { ListEventsResponse as _berth_v1_ListEventsResponse, ListEventsResponse__Output as _berth_v1_ListEventsResponse__Output } from './berth/v1/ListEventsResponse.js';
import type { ListHostsRequest as _berth_v1_ListHostsRequest, ListHostsRequest__Output as _berth_v1_ListHostsRequest__Output } from './berth/v1/ListHostsRequest.js';
import type { ListHostsResponse as _berth_v1_ListHostsResponse, ListHostsResponse__Output as _berth_v1_ListHostsResponse__Output } from './berth/v1/ListHostsResponse.js';
import type { NetInterface as _berth_v1_NetInterface, NetInterface__Output as _berth_v1_NetInterface__Output } from './berth/v1/NetInterface.js';
import type { OperatorServiceClient as _berth_v1_OperatorServiceClient, OperatorServiceDefinition as _berth_v1_OperatorServiceDefinition } from './berth/v1/OperatorService.js';
import type { Usage as _berth_v1_Usage, Usage__Output as _berth_v1_Usage__Output } from './berth/v1/Usage.js';
import type { WatchEventsRequest as _berth_v1_WatchEventsRequest, WatchEventsRequest__Output as _berth_v1_WatchEventsRequest__Output } from './berth/v1/WatchEventsRequest.js';
import type { WhoAmIRequest as _berth_v1_WhoAmIRequest, WhoAmIRequest__Output as _berth_v1_WhoAmIRequest__Output } from './berth/v1/WhoAmIRequest.js';
import type { WhoAmIResponse as _berth_v1_WhoAmIResponse, WhoAmIResponse__Output as _berth_v1_WhoAmIResponse__Output } from './berth/v1/WhoAmIResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  berth: {
    v1: {
      CordonRequest: MessageTypeDefinition<_berth_v1_CordonRequest, _berth_v1_CordonRequest__Output>
      CreateTokenRequest: MessageTypeDefinition<_berth_v1_CreateTokenRequest, _berth_v1_CreateTokenRequest__Output>
      CreateTokenResponse: MessageTypeDefinition<_berth_v1_CreateTokenResponse, _berth_v1_CreateTokenResponse__Output>
      Disk: MessageTypeDefinition<_berth_v1_Disk, _berth_v1_Disk__Output>
      Event: MessageTypeDefinition<_berth_v1_Event, _berth_v1_Event__Output>
      Filesystem: MessageTypeDefinition<_berth_v1_Filesystem, _berth_v1_Filesystem__Output>
      GetHostRequest: MessageTypeDefinition<_berth_v1_GetHostRequest, _berth_v1_GetHostRequest__Output>
      Host: MessageTypeDefinition<_berth_v1_Host, _berth_v1_Host__Output>
      HostFacts: MessageTypeDefinition<_berth_v1_HostFacts, _berth_v1_HostFacts__Output>
      ListEventsRequest: MessageTypeDefinition<_berth_v1_ListEventsRequest, _berth_v1_ListEventsRequest__Output>
      ListEventsResponse: MessageTypeDefinition<_berth_v1_ListEventsResponse, _berth_v1_ListEventsResponse__Output>
      ListHostsRequest: MessageTypeDefinition<_berth_v1_ListHostsRequest, _berth_v1_ListHostsRequest__Output>
      ListHostsResponse: MessageTypeDefinition<_berth_v1_ListHostsResponse, _berth_v1_ListHostsResponse__Output>
      NetInterface: MessageTypeDefinition<_berth_v1_NetInterface, _berth_v1_NetInterface__Output>
      OperatorService: SubtypeConstructor<typeof grpc.Client, _berth_v1_OperatorServiceClient> & { service: _berth_v1_OperatorServiceDefinition }
      Usage: MessageTypeDefinition<_berth_v1_Usage, _berth_v1_Usage__Output>
      WatchEventsRequest: MessageTypeDefinition<_berth_v1_WatchEventsRequest, _berth_v1_WatchEventsRequest__Output>
      WhoAmIRequest: MessageTypeDefinition<_berth_v1_WhoAmIRequest, _berth_v1_WhoAmIRequest__Output>
      WhoAmIResponse: MessageTypeDefinition<_berth_v1_WhoAmIResponse, _berth_v1_WhoAmIResponse__Output>
    }
  }
}

