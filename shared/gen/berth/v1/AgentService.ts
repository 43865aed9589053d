// Original file: proto/berth/v1/agent.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AgentMessage as _berth_v1_AgentMessage, AgentMessage__Output as _berth_v1_AgentMessage__Output } from '../../berth/v1/AgentMessage.js';
import type { ArtifactChunk as _berth_v1_ArtifactChunk, ArtifactChunk__Output as _berth_v1_ArtifactChunk__Output } from '../../berth/v1/ArtifactChunk.js';
import type { ControllerMessage as _berth_v1_ControllerMessage, ControllerMessage__Output as _berth_v1_ControllerMessage__Output } from '../../berth/v1/ControllerMessage.js';
import type { FetchArtifactRequest as _berth_v1_FetchArtifactRequest, FetchArtifactRequest__Output as _berth_v1_FetchArtifactRequest__Output } from '../../berth/v1/FetchArtifactRequest.js';
import type { JoinRequest as _berth_v1_JoinRequest, JoinRequest__Output as _berth_v1_JoinRequest__Output } from '../../berth/v1/JoinRequest.js';
import type { JoinResponse as _berth_v1_JoinResponse, JoinResponse__Output as _berth_v1_JoinResponse__Output } from '../../berth/v1/JoinResponse.js';

export interface AgentServiceClient extends grpc.Client {
  Connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_berth_v1_AgentMessage, _berth_v1_ControllerMessage__Output>;
  Connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_berth_v1_AgentMessage, _berth_v1_ControllerMessage__Output>;
  connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_berth_v1_AgentMessage, _berth_v1_ControllerMessage__Output>;
  connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_berth_v1_AgentMessage, _berth_v1_ControllerMessage__Output>;
  
  FetchArtifact(argument: _berth_v1_FetchArtifactRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_ArtifactChunk__Output>;
  FetchArtifact(argument: _berth_v1_FetchArtifactRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_ArtifactChunk__Output>;
  fetchArtifact(argument: _berth_v1_FetchArtifactRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_ArtifactChunk__Output>;
  fetchArtifact(argument: _berth_v1_FetchArtifactRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_ArtifactChunk__Output>;
  
  Join(argument: _berth_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _berth_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _berth_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _berth_v1_JoinRequest, callback: grpc.requestCallback<_berth_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _berth_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _berth_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _berth_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _berth_v1_JoinRequest, callback: grpc.requestCallback<_berth_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface AgentServiceHandlers extends grpc.UntypedServiceImplementation {
  Connect: grpc.handleBidiStreamingCall<_berth_v1_AgentMessage__Output, _berth_v1_ControllerMessage>;
  
  FetchArtifact: grpc.handleServerStreamingCall<_berth_v1_FetchArtifactRequest__Output, _berth_v1_ArtifactChunk>;
  
  Join: grpc.handleUnaryCall<_berth_v1_JoinRequest__Output, _berth_v1_JoinResponse>;
  
}

export interface AgentServiceDefinition extends grpc.ServiceDefinition {
  Connect: MethodDefinition<_berth_v1_AgentMessage, _berth_v1_ControllerMessage, _berth_v1_AgentMessage__Output, _berth_v1_ControllerMessage__Output>
  FetchArtifact: MethodDefinition<_berth_v1_FetchArtifactRequest, _berth_v1_ArtifactChunk, _berth_v1_FetchArtifactRequest__Output, _berth_v1_ArtifactChunk__Output>
  Join: MethodDefinition<_berth_v1_JoinRequest, _berth_v1_JoinResponse, _berth_v1_JoinRequest__Output, _berth_v1_JoinResponse__Output>
}
