import { Controller } from '@nestjs/common';
import { assertActor } from '@app/messaging';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@app/contracts';
import { UploadsService } from './uploads.service';

@Controller()
export class UploadsController {
  constructor(private readonly uploads: UploadsService) {}

  @MessagePattern('upload-status.upload.record.v1')
  record(@Payload() r: RpcRequest<'upload-status.upload.record.v1'>) {
    assertActor(r?.actor);
    const { actor, ...intake } = r;
    return this.uploads.record(actor.tenantId, intake);
  }

  @MessagePattern('upload-status.upload.get.v1')
  get(@Payload() r: RpcRequest<'upload-status.upload.get.v1'>) {
    return this.uploads.get(r.actor, r.id);
  }

  @MessagePattern('upload-status.upload.list.v1')
  list(@Payload() r: RpcRequest<'upload-status.upload.list.v1'>) {
    const { actor, ...q } = r;
    return this.uploads.list(actor, q);
  }

  @MessagePattern('upload-status.submission.document-status.v1')
  submission(@Payload() r: RpcRequest<'upload-status.submission.document-status.v1'>) {
    return this.uploads.submissionStatus(r.actor, r.form526SubmissionId, r.formAttachmentIds);
  }
}
