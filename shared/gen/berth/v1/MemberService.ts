// Original file: proto/berth/v1/operator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ArtifactUpload as _berth_v1_ArtifactUpload, ArtifactUpload__Output as _berth_v1_ArtifactUpload__Output } from '../../berth/v1/ArtifactUpload.js';
import type { EnsureArtifactRequest as _berth_v1_EnsureArtifactRequest, EnsureArtifactRequest__Output as _berth_v1_EnsureArtifactRequest__Output } from '../../berth/v1/EnsureArtifactRequest.js';
import type { HasArtifactRequest as _berth_v1_HasArtifactRequest, HasArtifactRequest__Output as _berth_v1_HasArtifactRequest__Output } from '../../berth/v1/HasArtifactRequest.js';
import type { HasArtifactResponse as _berth_v1_HasArtifactResponse, HasArtifactResponse__Output as _berth_v1_HasArtifactResponse__Output } from '../../berth/v1/HasArtifactResponse.js';

export interface MemberServiceClient extends grpc.Client {
  EnsureArtifact(argument: _berth_v1_EnsureArtifactRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  EnsureArtifact(argument: _berth_v1_EnsureArtifactRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  EnsureArtifact(argument: _berth_v1_EnsureArtifactRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  EnsureArtifact(argument: _berth_v1_EnsureArtifactRequest, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  ensureArtifact(argument: _berth_v1_EnsureArtifactRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  ensureArtifact(argument: _berth_v1_EnsureArtifactRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  ensureArtifact(argument: _berth_v1_EnsureArtifactRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  ensureArtifact(argument: _berth_v1_EnsureArtifactRequest, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  
  FetchArtifact(argument: _berth_v1_HasArtifactRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_ArtifactUpload__Output>;
  FetchArtifact(argument: _berth_v1_HasArtifactRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_ArtifactUpload__Output>;
  fetchArtifact(argument: _berth_v1_HasArtifactRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_ArtifactUpload__Output>;
  fetchArtifact(argument: _berth_v1_HasArtifactRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_ArtifactUpload__Output>;
  
}

export interface MemberServiceHandlers extends grpc.UntypedServiceImplementation {
  EnsureArtifact: grpc.handleUnaryCall<_berth_v1_EnsureArtifactRequest__Output, _berth_v1_HasArtifactResponse>;
  
  FetchArtifact: grpc.handleServerStreamingCall<_berth_v1_HasArtifactRequest__Output, _berth_v1_ArtifactUpload>;
  
}

export interface MemberServiceDefinition extends grpc.ServiceDefinition {
  EnsureArtifact: MethodDefinition<_berth_v1_EnsureArtifactRequest, _berth_v1_HasArtifactResponse, _berth_v1_EnsureArtifactRequest__Output, _berth_v1_HasArtifactResponse__Output>
  FetchArtifact: MethodDefinition<_berth_v1_HasArtifactRequest, _berth_v1_ArtifactUpload, _berth_v1_HasArtifactRequest__Output, _berth_v1_ArtifactUpload__Output>
}
