import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../auth/decorators';
import { StatusService } from './status.service';

@ApiTags('platform')
@ApiSecurity('api-key')
@Controller('api/v1/status')
export class StatusController {
  constructor(private readonly status: StatusService) {}

  @Get()
  @RequireScopes('status:read')
  @ApiOperation({
    summary: "Each service's status over RPC; a service that does not answer shows as down",
  })
  @ApiOkResponse({
    description: 'Each service',
    schema: { $ref: '#/components/schemas/PlatformStatus' },
  })
  get() {
    return this.status.platformStatus();
  }
}
