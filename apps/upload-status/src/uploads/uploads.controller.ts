import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@app/contracts';
import { UploadsService } from './uploads.service';

@Controller()
export class UploadsController {
  constructor(private readonly uploads: UploadsService) {}

  @MessagePattern('upload-status.upload.record.v1')
  record(@Payload() r: RpcRequest<'upload-status.upload.record.v1'>) {
    return this.uploads.record(r);
  }

  @MessagePattern('upload-status.upload.get.v1')
  get(@Payload() r: RpcRequest<'upload-status.upload.get.v1'>) {
    return this.uploads.get(r.id);
  }

  @MessagePattern('upload-status.upload.list.v1')
  list(@Payload() r: RpcRequest<'upload-status.upload.list.v1'>) {
    return this.uploads.list(r);
  }

  @MessagePattern('upload-status.submission.document-status.v1')
  submission(@Payload() r: RpcRequest<'upload-status.submission.document-status.v1'>) {
    return this.uploads.submissionStatus(r.form526SubmissionId, r.formAttachmentIds);
  }
}
