import { ForbiddenException, NotFoundException } from '@nestjs/common';
import { IsInt, IsString, Min, ValidateNested } from 'class-validator';
import { Type } from 'class-transformer';
import { RpcCallError } from '@app/messaging';
import { ObjectNotFoundError } from '@app/storage';
import { toProblem } from './problem.filter';
import { createValidationPipe, RequestValidationError } from './validation';

class Inner {
  @IsInt()
  @Min(1)
  count!: number;
}
class Body {
  @IsString()
  name!: string;

  @ValidateNested()
  @Type(() => Inner)
  inner!: Inner;
}

describe('request validation', () => {
  const pipe = createValidationPipe();
  const validate = (value: unknown) => pipe.transform(value, { type: 'body', metatype: Body });

  it('rejects unknown fields by name instead of dropping them', async () => {
    const err = (await validate({ name: 'a', inner: { count: 1 }, admin: true }).catch(
      (e: unknown) => e,
    )) as RequestValidationError;
    expect(err).toBeInstanceOf(RequestValidationError);
    expect(err.fields).toEqual([{ field: 'admin', messages: ['property admin should not exist'] }]);
  });

  it('names nested bad fields with their path', async () => {
    const err = (await validate({ name: 1, inner: { count: 0 } }).catch(
      (e: unknown) => e,
    )) as RequestValidationError;
    expect(err.fields.map((f) => f.field)).toEqual(['name', 'inner.count']);
  });

  it('passes a good body through, typed', async () => {
    await expect(validate({ name: 'a', inner: { count: 2 } })).resolves.toBeInstanceOf(Body);
  });
});

describe('toProblem', () => {
  it('maps validation errors to 400 with the fields', () => {
    const p = toProblem(new RequestValidationError([{ field: 'x', messages: ['bad'] }]), '/a');
    expect(p).toMatchObject({
      status: 400,
      type: 'urn:problem-type:validation_failed',
      instance: '/a',
      errors: [{ field: 'x' }],
    });
  });

  it('maps typed RPC errors to their status and code', () => {
    const p = toProblem(
      new RpcCallError({ code: 'conflict', status: 409, message: 'taken' }, 'x.y.z.v1'),
    );
    expect(p).toMatchObject({ status: 409, type: 'urn:problem-type:conflict', detail: 'taken' });
  });

  it('keeps HTTP errors and hides unknown ones behind a 500', () => {
    expect(toProblem(new NotFoundException('gone')).status).toBe(404);
    expect(toProblem(new ForbiddenException('no')).type).toBe('urn:problem-type:forbidden');
    const p = toProblem(new Error('db password is hunter2'));
    expect(p).toMatchObject({ status: 500, detail: 'internal error' });
    expect(JSON.stringify(p)).not.toContain('hunter2');
  });

  it('maps a file missing from storage to 404', () => {
    expect(toProblem(new ObjectNotFoundError('workflows/x/final.pdf'))).toMatchObject({
      status: 404,
      type: 'urn:problem-type:not_found',
    });
  });

  it("maps Fastify's own client errors (bad JSON) to 4xx", () => {
    const p = toProblem(Object.assign(new Error('Body is not valid JSON'), { statusCode: 400 }));
    expect(p).toMatchObject({ status: 400, detail: 'Body is not valid JSON' });
  });
});
