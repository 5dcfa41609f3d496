import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@app/contracts';
import { tenantUser } from './manifests.repository';
import { ManifestsService } from './manifests.service';

@Controller()
export class ManifestsController {
  constructor(private readonly manifests: ManifestsService) {}

  @MessagePattern('manifest-cache.manifest.start.v1')
  start(@Payload() r: RpcRequest<'manifest-cache.manifest.start.v1'>) {
    return this.manifests.start(r.fileNumber, tenantUser(r.user, r.actor), r.force ?? false);
  }

  @MessagePattern('manifest-cache.manifest.refresh.v1')
  refresh(@Payload() r: RpcRequest<'manifest-cache.manifest.refresh.v1'>) {
    return this.manifests.refresh(r.manifestId, tenantUser(r.user, r.actor));
  }

  @MessagePattern('manifest-cache.manifest.get.v1')
  get(@Payload() r: RpcRequest<'manifest-cache.manifest.get.v1'>) {
    return this.manifests.get(r.manifestId, tenantUser(r.user, r.actor));
  }

  @MessagePattern('manifest-cache.manifest.etag.v1')
  etag(@Payload() r: RpcRequest<'manifest-cache.manifest.etag.v1'>) {
    return this.manifests.etag(r.manifestId, tenantUser(r.user, r.actor));
  }

  @MessagePattern('manifest-cache.manifest.history.v1')
  history(@Payload() r: RpcRequest<'manifest-cache.manifest.history.v1'>) {
    return this.manifests.history(tenantUser(r.user, r.actor));
  }

  @MessagePattern('manifest-cache.files-download.start.v1')
  startFilesDownload(@Payload() r: RpcRequest<'manifest-cache.files-download.start.v1'>) {
    return this.manifests.startFilesDownload(r.manifestId, tenantUser(r.user, r.actor));
  }

  @MessagePattern('manifest-cache.files-download.get.v1')
  filesDownload(@Payload() r: RpcRequest<'manifest-cache.files-download.get.v1'>) {
    return this.manifests.get(r.manifestId, tenantUser(r.user, r.actor));
  }

  @MessagePattern('manifest-cache.zip.plan.v1')
  zipPlan(@Payload() r: RpcRequest<'manifest-cache.zip.plan.v1'>) {
    return this.manifests.zipPlan(r.manifestId, tenantUser(r.user, r.actor));
  }

  @MessagePattern('manifest-cache.record.content.v1')
  content(@Payload() r: RpcRequest<'manifest-cache.record.content.v1'>) {
    return this.manifests.content(r.recordId, tenantUser(r.user, r.actor));
  }

  @MessagePattern('manifest-cache.document-count.get.v1')
  documentCount(@Payload() r: RpcRequest<'manifest-cache.document-count.get.v1'>) {
    return this.manifests.documentCount(r.fileNumber, tenantUser(r.user, r.actor));
  }
}
