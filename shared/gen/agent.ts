import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AgentMessage as _berth_v1_AgentMessage, AgentMessage__Output as _berth_v1_AgentMessage__Output } from './berth/v1/AgentMessage.js';
import type { AgentServiceClient as _berth_v1_AgentServiceClient, AgentServiceDefinition as _berth_v1_AgentServiceDefinition } from './berth/v1/AgentService.js';
import type { ArtifactChunk as _berth_v1_ArtifactChunk, ArtifactChunk__Output as _berth_v1_ArtifactChunk__Output } from './berth/v1/ArtifactChunk.js';
import type { Assignment as _berth_v1_Assignment, Assignment__Output as _berth_v1_Assignment__Output } from './berth/v1/Assignment.js';
import type { CertificateIssued as _berth_v1_CertificateIssued, CertificateIssued__Output as _berth_v1_CertificateIssued__Output } from './berth/v1/CertificateIssued.js';
import type { CertificateStored as _berth_v1_CertificateStored, CertificateStored__Output as _berth_v1_CertificateStored__Output } from './berth/v1/CertificateStored.js';
import type { ControllerMessage as _berth_v1_ControllerMessage, ControllerMessage__Output as _berth_v1_ControllerMessage__Output } from './berth/v1/ControllerMessage.js';
import type { Disk as _berth_v1_Disk, Disk__Output as _berth_v1_Disk__Output } from './berth/v1/Disk.js';
import type { ExecClose as _berth_v1_ExecClose, ExecClose__Output as _berth_v1_ExecClose__Output } from './berth/v1/ExecClose.js';
import type { ExecExit as _berth_v1_ExecExit, ExecExit__Output as _berth_v1_ExecExit__Output } from './berth/v1/ExecExit.js';
import type { ExecInput as _berth_v1_ExecInput, ExecInput__Output as _berth_v1_ExecInput__Output } from './berth/v1/ExecInput.js';
import type { ExecOutput as _berth_v1_ExecOutput, ExecOutput__Output as _berth_v1_ExecOutput__Output } from './berth/v1/ExecOutput.js';
import type { ExecResize as _berth_v1_ExecResize, ExecResize__Output as _berth_v1_ExecResize__Output } from './berth/v1/ExecResize.js';
import type { ExecStart as _berth_v1_ExecStart, ExecStart__Output as _berth_v1_ExecStart__Output } from './berth/v1/ExecStart.js';
import type { FetchArtifactRequest as _berth_v1_FetchArtifactRequest, FetchArtifactRequest__Output as _berth_v1_FetchArtifactRequest__Output } from './berth/v1/FetchArtifactRequest.js';
import type { Filesystem as _berth_v1_Filesystem, Filesystem__Output as _berth_v1_Filesystem__Output } from './berth/v1/Filesystem.js';
import type { Heartbeat as _berth_v1_Heartbeat, Heartbeat__Output as _berth_v1_Heartbeat__Output } from './berth/v1/Heartbeat.js';
import type { HeartbeatAck as _berth_v1_HeartbeatAck, HeartbeatAck__Output as _berth_v1_HeartbeatAck__Output } from './berth/v1/HeartbeatAck.js';
import type { Hello as _berth_v1_Hello, Hello__Output as _berth_v1_Hello__Output } from './berth/v1/Hello.js';
import type { HostFacts as _berth_v1_HostFacts, HostFacts__Output as _berth_v1_HostFacts__Output } from './berth/v1/HostFacts.js';
import type { HostRemoved as _berth_v1_HostRemoved, HostRemoved__Output as _berth_v1_HostRemoved__Output } from './berth/v1/HostRemoved.js';
import type { InstanceStatus as _berth_v1_InstanceStatus, InstanceStatus__Output as _berth_v1_InstanceStatus__Output } from './berth/v1/InstanceStatus.js';
import type { JoinRequest as _berth_v1_JoinRequest, JoinRequest__Output as _berth_v1_JoinRequest__Output } from './berth/v1/JoinRequest.js';
import type { JoinResponse as _berth_v1_JoinResponse, JoinResponse__Output as _berth_v1_JoinResponse__Output } from './berth/v1/JoinResponse.js';
import type { LogAck as _berth_v1_LogAck, LogAck__Output as _berth_v1_LogAck__Output } from './berth/v1/LogAck.js';
import type { LogCancel as _berth_v1_LogCancel, LogCancel__Output as _berth_v1_LogCancel__Output } from './berth/v1/LogCancel.js';
import type { LogChunk as _berth_v1_LogChunk, LogChunk__Output as _berth_v1_LogChunk__Output } from './berth/v1/LogChunk.js';
import type { LogRequest as _berth_v1_LogRequest, LogRequest__Output as _berth_v1_LogRequest__Output } from './berth/v1/LogRequest.js';
import type { MoveOn as _berth_v1_MoveOn, MoveOn__Output as _berth_v1_MoveOn__Output } from './berth/v1/MoveOn.js';
import type { NetInterface as _berth_v1_NetInterface, NetInterface__Output as _berth_v1_NetInterface__Output } from './berth/v1/NetInterface.js';
import type { ReadReceipt as _berth_v1_ReadReceipt, ReadReceipt__Output as _berth_v1_ReadReceipt__Output } from './berth/v1/ReadReceipt.js';
import type { RenewCertificate as _berth_v1_RenewCertificate, RenewCertificate__Output as _berth_v1_RenewCertificate__Output } from './berth/v1/RenewCertificate.js';
import type { RunningInstance as _berth_v1_RunningInstance, RunningInstance__Output as _berth_v1_RunningInstance__Output } from './berth/v1/RunningInstance.js';
import type { SecretValue as _berth_v1_SecretValue, SecretValue__Output as _berth_v1_SecretValue__Output } from './berth/v1/SecretValue.js';
import type { TrustBundle as _berth_v1_TrustBundle, TrustBundle__Output as _berth_v1_TrustBundle__Output } from './berth/v1/TrustBundle.js';
import type { Usage as _berth_v1_Usage, Usage__Output as _berth_v1_Usage__Output } from './berth/v1/Usage.js';
import type { Welcome as _berth_v1_Welcome, Welcome__Output as _berth_v1_Welcome__Output } from './berth/v1/Welcome.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  berth: {
    v1: {
      AgentMessage: MessageTypeDefinition<_berth_v1_AgentMessage, _berth_v1_AgentMessage__Output>
      AgentService: SubtypeConstructor<typeof grpc.Client, _berth_v1_AgentServiceClient> & { service: _berth_v1_AgentServiceDefinition }
      ArtifactChunk: MessageTypeDefinition<_berth_v1_ArtifactChunk, _berth_v1_ArtifactChunk__Output>
      Assignment: MessageTypeDefinition<_berth_v1_Assignment, _berth_v1_Assignment__Output>
      CertificateIssued: MessageTypeDefinition<_berth_v1_CertificateIssued, _berth_v1_CertificateIssued__Output>
      CertificateStored: MessageTypeDefinition<_berth_v1_CertificateStored, _berth_v1_CertificateStored__Output>
      ControllerMessage: MessageTypeDefinition<_berth_v1_ControllerMessage, _berth_v1_ControllerMessage__Output>
      Disk: MessageTypeDefinition<_berth_v1_Disk, _berth_v1_Disk__Output>
      ExecClose: MessageTypeDefinition<_berth_v1_ExecClose, _berth_v1_ExecClose__Output>
      ExecExit: MessageTypeDefinition<_berth_v1_ExecExit, _berth_v1_ExecExit__Output>
      ExecInput: MessageTypeDefinition<_berth_v1_ExecInput, _berth_v1_ExecInput__Output>
      ExecOutput: MessageTypeDefinition<_berth_v1_ExecOutput, _berth_v1_ExecOutput__Output>
      ExecResize: MessageTypeDefinition<_berth_v1_ExecResize, _berth_v1_ExecResize__Output>
      ExecStart: MessageTypeDefinition<_berth_v1_ExecStart, _berth_v1_ExecStart__Output>
      FetchArtifactRequest: MessageTypeDefinition<_berth_v1_FetchArtifactRequest, _berth_v1_FetchArtifactRequest__Output>
      Filesystem: MessageTypeDefinition<_berth_v1_Filesystem, _berth_v1_Filesystem__Output>
      Heartbeat: MessageTypeDefinition<_berth_v1_Heartbeat, _berth_v1_Heartbeat__Output>
      HeartbeatAck: MessageTypeDefinition<_berth_v1_HeartbeatAck, _berth_v1_HeartbeatAck__Output>
      Hello: MessageTypeDefinition<_berth_v1_Hello, _berth_v1_Hello__Output>
      HostFacts: MessageTypeDefinition<_berth_v1_HostFacts, _berth_v1_HostFacts__Output>
      HostRemoved: MessageTypeDefinition<_berth_v1_HostRemoved, _berth_v1_HostRemoved__Output>
      InstanceStatus: MessageTypeDefinition<_berth_v1_InstanceStatus, _berth_v1_InstanceStatus__Output>
      JoinRequest: MessageTypeDefinition<_berth_v1_JoinRequest, _berth_v1_JoinRequest__Output>
      JoinResponse: MessageTypeDefinition<_berth_v1_JoinResponse, _berth_v1_JoinResponse__Output>
      LogAck: MessageTypeDefinition<_berth_v1_LogAck, _berth_v1_LogAck__Output>
      LogCancel: MessageTypeDefinition<_berth_v1_LogCancel, _berth_v1_LogCancel__Output>
      LogChunk: MessageTypeDefinition<_berth_v1_LogChunk, _berth_v1_LogChunk__Output>
      LogRequest: MessageTypeDefinition<_berth_v1_LogRequest, _berth_v1_LogRequest__Output>
      MoveOn: MessageTypeDefinition<_berth_v1_MoveOn, _berth_v1_MoveOn__Output>
      NetInterface: MessageTypeDefinition<_berth_v1_NetInterface, _berth_v1_NetInterface__Output>
      ReadReceipt: MessageTypeDefinition<_berth_v1_ReadReceipt, _berth_v1_ReadReceipt__Output>
      RenewCertificate: MessageTypeDefinition<_berth_v1_RenewCertificate, _berth_v1_RenewCertificate__Output>
      RunningInstance: MessageTypeDefinition<_berth_v1_RunningInstance, _berth_v1_RunningInstance__Output>
      SecretValue: MessageTypeDefinition<_berth_v1_SecretValue, _berth_v1_SecretValue__Output>
      TrustBundle: MessageTypeDefinition<_berth_v1_TrustBundle, _berth_v1_TrustBundle__Output>
      Usage: MessageTypeDefinition<_berth_v1_Usage, _berth_v1_Usage__Output>
      Welcome: MessageTypeDefinition<_berth_v1_Welcome, _berth_v1_Welcome__Output>
    }
  }
}

