import { SetMetadata } from '@nestjs/common';
import { PUBLIC_ROUTE } from '@app/health';

export const SCOPES = 'platform:scopes';

/** Scopes a caller's key must hold (any one of them is not enough: all are needed). */
export const RequireScopes = (...scopes: string[]) => SetMetadata(SCOPES, scopes);

export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
