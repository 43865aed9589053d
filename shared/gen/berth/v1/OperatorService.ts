// Original file: proto/berth/v1/operator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CordonRequest as _berth_v1_CordonRequest, CordonRequest__Output as _berth_v1_CordonRequest__Output } from '../../berth/v1/CordonRequest.js';
import type { CreateTokenRequest as _berth_v1_CreateTokenRequest, CreateTokenRequest__Output as _berth_v1_CreateTokenRequest__Output } from '../../berth/v1/CreateTokenRequest.js';
import type { CreateTokenResponse as _berth_v1_CreateTokenResponse, CreateTokenResponse__Output as _berth_v1_CreateTokenResponse__Output } from '../../berth/v1/CreateTokenResponse.js';
import type { Event as _berth_v1_Event, Event__Output as _berth_v1_Event__Output } from '../../berth/v1/Event.js';
import type { GetHostRequest as _berth_v1_GetHostRequest, GetHostRequest__Output as _berth_v1_GetHostRequest__Output } from '../../berth/v1/GetHostRequest.js';
import type { Host as _berth_v1_Host, Host__Output as _berth_v1_Host__Output } from '../../berth/v1/Host.js';
import type { ListEventsRequest as _berth_v1_ListEventsRequest, ListEventsRequest__Output as _berth_v1_ListEventsRequest__Output } from '../../berth/v1/ListEventsRequest.js';
import type { ListEventsResponse as _berth_v1_ListEventsResponse, ListEventsResponse__Output as _berth_v1_ListEventsResponse__Output } from '../../berth/v1/ListEventsResponse.js';
import type { ListHostsRequest as _berth_v1_ListHostsRequest, ListHostsRequest__Output as _berth_v1_ListHostsRequest__Output } from '../../berth/v1/ListHostsRequest.js';
import type { ListHostsResponse as _berth_v1_ListHostsResponse, ListHostsResponse__Output as _berth_v1_ListHostsResponse__Output } from '../../berth/v1/ListHostsResponse.js';
import type { WatchEventsRequest as _berth_v1_WatchEventsRequest, WatchEventsRequest__Output as _berth_v1_WatchEventsRequest__Output } from '../../berth/v1/WatchEventsRequest.js';
import type { WhoAmIRequest as _berth_v1_WhoAmIRequest, WhoAmIRequest__Output as _berth_v1_WhoAmIRequest__Output } from '../../berth/v1/WhoAmIRequest.js';
import type { WhoAmIResponse as _berth_v1_WhoAmIResponse, WhoAmIResponse__Output as _berth_v1_WhoAmIResponse__Output } from '../../berth/v1/WhoAmIResponse.js';

export interface OperatorServiceClient extends grpc.Client {
  Cordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Cordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Cordon(argument: _berth_v1_CordonRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Cordon(argument: _berth_v1_CordonRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  cordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  cordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  cordon(argument: _berth_v1_CordonRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  cordon(argument: _berth_v1_CordonRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  
  CreateToken(argument: _berth_v1_CreateTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  CreateToken(argument: _berth_v1_CreateTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  CreateToken(argument: _berth_v1_CreateTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  CreateToken(argument: _berth_v1_CreateTokenRequest, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  createToken(argument: _berth_v1_CreateTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  createToken(argument: _berth_v1_CreateTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  createToken(argument: _berth_v1_CreateTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  createToken(argument: _berth_v1_CreateTokenRequest, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  
  GetHost(argument: _berth_v1_GetHostRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  GetHost(argument: _berth_v1_GetHostRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  GetHost(argument: _berth_v1_GetHostRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  GetHost(argument: _berth_v1_GetHostRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  getHost(argument: _berth_v1_GetHostRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  getHost(argument: _berth_v1_GetHostRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  getHost(argument: _berth_v1_GetHostRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  getHost(argument: _berth_v1_GetHostRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  
  ListEvents(argument: _berth_v1_ListEventsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  ListEvents(argument: _berth_v1_ListEventsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  ListEvents(argument: _berth_v1_ListEventsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  ListEvents(argument: _berth_v1_ListEventsRequest, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  listEvents(argument: _berth_v1_ListEventsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  listEvents(argument: _berth_v1_ListEventsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  listEvents(argument: _berth_v1_ListEventsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  listEvents(argument: _berth_v1_ListEventsRequest, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  
  ListHosts(argument: _berth_v1_ListHostsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  ListHosts(argument: _berth_v1_ListHostsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  ListHosts(argument: _berth_v1_ListHostsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  ListHosts(argument: _berth_v1_ListHostsRequest, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  listHosts(argument: _berth_v1_ListHostsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  listHosts(argument: _berth_v1_ListHostsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  listHosts(argument: _berth_v1_ListHostsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  listHosts(argument: _berth_v1_ListHostsRequest, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  
  Uncordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Uncordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Uncordon(argument: _berth_v1_CordonRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Uncordon(argument: _berth_v1_CordonRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  uncordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  uncordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  uncordon(argument: _berth_v1_CordonRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  uncordon(argument: _berth_v1_CordonRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  
  WatchEvents(argument: _berth_v1_WatchEventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  WatchEvents(argument: _berth_v1_WatchEventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  watchEvents(argument: _berth_v1_WatchEventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  watchEvents(argument: _berth_v1_WatchEventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  
  WhoAmI(argument: _berth_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _berth_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _berth_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _berth_v1_WhoAmIRequest, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _berth_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _berth_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _berth_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _berth_v1_WhoAmIRequest, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface OperatorServiceHandlers extends grpc.UntypedServiceImplementation {
  Cordon: grpc.handleUnaryCall<_berth_v1_CordonRequest__Output, _berth_v1_Host>;
  
  CreateToken: grpc.handleUnaryCall<_berth_v1_CreateTokenRequest__Output, _berth_v1_CreateTokenResponse>;
  
  GetHost: grpc.handleUnaryCall<_berth_v1_GetHostRequest__Output, _berth_v1_Host>;
  
  ListEvents: grpc.handleUnaryCall<_berth_v1_ListEventsRequest__Output, _berth_v1_ListEventsResponse>;
  
  ListHosts: grpc.handleUnaryCall<_berth_v1_ListHostsRequest__Output, _berth_v1_ListHostsResponse>;
  
  Uncordon: grpc.handleUnaryCall<_berth_v1_CordonRequest__Output, _berth_v1_Host>;
  
  WatchEvents: grpc.handleServerStreamingCall<_berth_v1_WatchEventsRequest__Output, _berth_v1_Event>;
  
  WhoAmI: grpc.handleUnaryCall<_berth_v1_WhoAmIRequest__Output, _berth_v1_WhoAmIResponse>;
  
}

export interface OperatorServiceDefinition extends grpc.ServiceDefinition {
  Cordon: MethodDefinition<_berth_v1_CordonRequest, _berth_v1_Host, _berth_v1_CordonRequest__Output, _berth_v1_Host__Output>
  CreateToken: MethodDefinition<_berth_v1_CreateTokenRequest, _berth_v1_CreateTokenResponse, _berth_v1_CreateTokenRequest__Output, _berth_v1_CreateTokenResponse__Output>
  GetHost: MethodDefinition<_berth_v1_GetHostRequest, _berth_v1_Host, _berth_v1_GetHostRequest__Output, _berth_v1_Host__Output>
  ListEvents: MethodDefinition<_berth_v1_ListEventsRequest, _berth_v1_ListEventsResponse, _berth_v1_ListEventsRequest__Output, _berth_v1_ListEventsResponse__Output>
  ListHosts: MethodDefinition<_berth_v1_ListHostsRequest, _berth_v1_ListHostsResponse, _berth_v1_ListHostsRequest__Output, _berth_v1_ListHostsResponse__Output>
  Uncordon: MethodDefinition<_berth_v1_CordonRequest, _berth_v1_Host, _berth_v1_CordonRequest__Output, _berth_v1_Host__Output>
  WatchEvents: MethodDefinition<_berth_v1_WatchEventsRequest, _berth_v1_Event, _berth_v1_WatchEventsRequest__Output, _berth_v1_Event__Output>
  WhoAmI: MethodDefinition<_berth_v1_WhoAmIRequest, _berth_v1_WhoAmIResponse, _berth_v1_WhoAmIRequest__Output, _berth_v1_WhoAmIResponse__Output>
}
