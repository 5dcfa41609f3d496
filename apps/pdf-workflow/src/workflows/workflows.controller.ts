import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@app/contracts';
import { CreatorsService } from './creators.service';
import { WorkflowsService } from './workflows.service';

@Controller()
export class WorkflowsController {
  constructor(
    private readonly creators: CreatorsService,
    private readonly workflows: WorkflowsService,
  ) {}

  @MessagePattern('pdf-workflow.workflow.create.v1')
  create(@Payload() r: RpcRequest<'pdf-workflow.workflow.create.v1'>) {
    return this.creators.create(r);
  }

  @MessagePattern('pdf-workflow.workflow.get.v1')
  get(@Payload() r: RpcRequest<'pdf-workflow.workflow.get.v1'>) {
    return this.creators.get(r.actor, r.id);
  }

  @MessagePattern('pdf-workflow.workflow.list.v1')
  list(@Payload() r: RpcRequest<'pdf-workflow.workflow.list.v1'>) {
    return this.creators.list(r.actor, r);
  }

  @MessagePattern('pdf-workflow.workflow.cancel.v1')
  cancel(@Payload() r: RpcRequest<'pdf-workflow.workflow.cancel.v1'>) {
    return this.creators.cancel(r.actor, r.id, r.client);
  }

  @MessagePattern('pdf-workflow.workflow.extend.v1')
  extend(@Payload() r: RpcRequest<'pdf-workflow.workflow.extend.v1'>) {
    return this.creators.extend(r.actor, r.id, r.hours, r.client);
  }

  @MessagePattern('pdf-workflow.workflow.resend.v1')
  resend(@Payload() r: RpcRequest<'pdf-workflow.workflow.resend.v1'>) {
    return this.creators.resend(r.actor, r.id, r.client);
  }

  @MessagePattern('pdf-workflow.workflow.audit.v1')
  audit(@Payload() r: RpcRequest<'pdf-workflow.workflow.audit.v1'>) {
    return this.creators.auditLog(r.actor, r.id);
  }

  @MessagePattern('pdf-workflow.workflow.stats.v1')
  stats(@Payload() r: RpcRequest<'pdf-workflow.workflow.stats.v1'>) {
    return this.creators.stats(r.actor);
  }

  @MessagePattern('pdf-workflow.workflow.document.v1')
  document(@Payload() r: RpcRequest<'pdf-workflow.workflow.document.v1'>) {
    return this.creators.finalDocument(r.actor, r.id, r.client);
  }

  @MessagePattern('pdf-workflow.attachment.download.v1')
  attachment(@Payload() r: RpcRequest<'pdf-workflow.attachment.download.v1'>) {
    return this.creators.attachmentDownload(r.actor, r.id, r.attachmentId, r.client);
  }

  @MessagePattern('pdf-workflow.recipient.open.v1')
  open(@Payload() r: RpcRequest<'pdf-workflow.recipient.open.v1'>) {
    return this.workflows.open(r);
  }

  @MessagePattern('pdf-workflow.recipient.document.v1')
  recipientDocument(@Payload() r: RpcRequest<'pdf-workflow.recipient.document.v1'>) {
    return this.workflows.recipientDocument(r);
  }

  @MessagePattern('pdf-workflow.recipient.save.v1')
  save(@Payload() r: RpcRequest<'pdf-workflow.recipient.save.v1'>) {
    return this.workflows.save(r);
  }

  @MessagePattern('pdf-workflow.recipient.attach.v1')
  attach(@Payload() r: RpcRequest<'pdf-workflow.recipient.attach.v1'>) {
    return this.workflows.attach(r);
  }

  @MessagePattern('pdf-workflow.recipient.complete.v1')
  complete(@Payload() r: RpcRequest<'pdf-workflow.recipient.complete.v1'>) {
    return this.workflows.complete(r);
  }
}
