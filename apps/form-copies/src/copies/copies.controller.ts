import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@app/contracts';
import { CopiesService } from './copies.service';

@Controller()
export class CopiesController {
  constructor(private readonly copies: CopiesService) {}

  @MessagePattern('form-copies.application-form.create.v1')
  createForm(@Payload() r: RpcRequest<'form-copies.application-form.create.v1'>) {
    return this.copies.createForm(r);
  }

  @MessagePattern('form-copies.copy.create.v1')
  create(@Payload() r: RpcRequest<'form-copies.copy.create.v1'>) {
    return this.copies.createCopy(r);
  }

  @MessagePattern('form-copies.copy.list.v1')
  list(@Payload() r: RpcRequest<'form-copies.copy.list.v1'>) {
    return this.copies.list(r.actor, r.applicationFormId);
  }

  @MessagePattern('form-copies.copy.get.v1')
  get(@Payload() r: RpcRequest<'form-copies.copy.get.v1'>) {
    return this.copies.get(r.actor, r.id, r.caller);
  }

  @MessagePattern('form-copies.copy.patch.v1')
  patch(@Payload() r: RpcRequest<'form-copies.copy.patch.v1'>) {
    return this.copies.patch(r.actor, r.id, r.kind, r.patch, r.ifMatch, r.caller);
  }

  @MessagePattern('form-copies.copy.delete.v1')
  remove(@Payload() r: RpcRequest<'form-copies.copy.delete.v1'>) {
    return this.copies.remove(r.actor, r.id, r.ifMatch, r.caller);
  }

  @MessagePattern('form-copies.copy.duplicate.v1')
  duplicate(@Payload() r: RpcRequest<'form-copies.copy.duplicate.v1'>) {
    return this.copies.duplicate(r.actor, r.id, r.title);
  }

  @MessagePattern('form-copies.application-form.clone.v1')
  clone(@Payload() r: RpcRequest<'form-copies.application-form.clone.v1'>) {
    return this.copies.clone(r);
  }

  @MessagePattern('form-copies.lease.acquire.v1')
  acquire(@Payload() r: RpcRequest<'form-copies.lease.acquire.v1'>) {
    return this.copies.acquireLease(r.actor, r.id, r.holder, r.ttlSeconds);
  }

  @MessagePattern('form-copies.lease.renew.v1')
  renew(@Payload() r: RpcRequest<'form-copies.lease.renew.v1'>) {
    return this.copies.renewLease(r.actor, r.id, r.token, r.ttlSeconds);
  }

  @MessagePattern('form-copies.lease.release.v1')
  release(@Payload() r: RpcRequest<'form-copies.lease.release.v1'>) {
    return this.copies.releaseLease(r.actor, r.id, r.token);
  }

  @MessagePattern('form-copies.feature-flags.set.v1')
  setFlag(@Payload() r: RpcRequest<'form-copies.feature-flags.set.v1'>) {
    return this.copies.setFlag(r.actor, r.ownerId, r.copies);
  }

  @MessagePattern('form-copies.feature-flags.get.v1')
  getFlag(@Payload() r: RpcRequest<'form-copies.feature-flags.get.v1'>) {
    return this.copies.getFlag(r.actor, r.ownerId);
  }
}
