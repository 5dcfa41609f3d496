import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiAnswer } from '../openapi/openapi';
import { IsIn, IsUUID } from 'class-validator';
import { rpcPatterns, SERVICES, type ServiceName } from '@app/contracts';
import { RequireScopes } from '../auth/decorators';
import { ServicesClient } from '../rpc';

export class OutboxEventParams {
  @IsIn(SERVICES)
  service!: ServiceName;

  @IsUUID()
  id!: string;
}

@ApiTags('operations')
@ApiSecurity('api-key')
@Controller('api/v1/services/:service/outbox-events')
export class OutboxEventsController {
  constructor(private readonly rpc: ServicesClient) {}

  @Get(':id')
  @RequireScopes('ops:read')
  @ApiOperation({
    summary: 'Where an event a service wrote is: pending, published, attempts, last error',
  })
  // Every service's outbox event has the same shape.
  @ApiAnswer('manifest-cache.outbox-event.get.v1')
  get(@Param() p: OutboxEventParams) {
    return this.rpc.send(rpcPatterns.outboxEvent(p.service), { id: p.id });
  }
}
