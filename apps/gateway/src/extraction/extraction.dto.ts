import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBase64,
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  DATA_TYPES,
  type DataTypeId,
  type Engine,
  ENGINES,
  EXPORT_DESTS,
  EXPORT_FILE_TYPES,
  type ExportDest,
  type ExportFileType,
  SOURCE_TYPES,
  type SourceType,
} from '@app/contracts';

/** The bodies and queries of extraction's routes, validated before anything is sent on. */
export class FieldBody {
  @IsString() @MinLength(1) @MaxLength(100) name!: string;
  @IsIn(DATA_TYPES) dataType!: DataTypeId;
  @IsOptional() @IsString() @MaxLength(2000) description?: string;
}

export class CreateJobBody {
  @IsString() @MinLength(1) @MaxLength(255) name!: string;
  /** Required unless templateId is given (the job then starts with the template's fields). */
  @ValidateIf((b: CreateJobBody) => b.templateId === undefined || b.fields !== undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => FieldBody)
  fields?: FieldBody[];
  @IsOptional() @IsString() templateId?: string;
  /** `rules` (offline) or `model` (a language model); unset: the service's default. */
  @IsOptional() @IsIn(ENGINES) engine?: Engine;
  /** ISO 4217 code for amounts printed without a currency the document does not name. */
  @IsOptional()
  @Matches(/^[A-Za-z]{3}$/, { message: 'defaultCurrency must be an ISO 4217 code' })
  defaultCurrency?: string;
}

export class UpdateJobBody {
  /** null: back to the service's default engine. */
  @ValidateIf((b: UpdateJobBody) => b.engine !== null && b.engine !== undefined)
  @IsIn(ENGINES)
  engine?: Engine | null;
  /** null: no default currency. */
  @ValidateIf((b: UpdateJobBody) => b.defaultCurrency !== null && b.defaultCurrency !== undefined)
  @Matches(/^[A-Za-z]{3}$/, { message: 'defaultCurrency must be an ISO 4217 code' })
  defaultCurrency?: string | null;
}

export class StartRunBody {
  /** Runs this once with another engine; the job keeps its own. */
  @IsOptional() @IsIn(ENGINES) engine?: Engine;
}

export class FieldsBody {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => FieldBody)
  fields!: FieldBody[];
}

export class CreateTemplateBody extends FieldsBody {
  @IsString() @MinLength(1) @MaxLength(255) name!: string;
}

export class AddFileBody {
  @IsIn(SOURCE_TYPES) source!: SourceType;
  /** upload: the file's name and its bytes, base64. */
  @IsOptional() @IsString() @MaxLength(500) fileName?: string;
  @IsOptional() @IsString() @IsBase64() contentBase64?: string;
  /** gdrive and gmail: the connected account to read with. */
  @IsOptional() @IsString() accountId?: string;
  @IsOptional() @IsString() @MaxLength(200) fileId?: string;
  @IsOptional() @IsString() @MaxLength(200) messageId?: string;
  @IsOptional() @IsString() @MaxLength(1000) attachmentId?: string;
}

export class ListQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit?: number;
  @IsOptional() @IsString() @MaxLength(512) cursor?: string;
}

export class ExportBody {
  @IsIn(EXPORT_DESTS) destType!: ExportDest;
  @IsIn(EXPORT_FILE_TYPES) fileType!: ExportFileType;
  @IsOptional() @IsString() accountId?: string;
  @IsOptional() @IsString() @MaxLength(200) folderId?: string;
  @IsOptional() @IsEmail() to?: string;
}

export class AuthorizeQuery {
  @IsString() @MaxLength(2000) redirectUri!: string;
}

export class CallbackQuery {
  @IsString() @MinLength(1) @MaxLength(2000) code!: string;
  @IsString() @MinLength(1) @MaxLength(2000) state!: string;
  /** Google adds the granted scopes to the redirect. */
  @IsOptional() @IsString() scope?: string;
  @IsOptional() @IsString() authuser?: string;
  @IsOptional() @IsString() prompt?: string;
}

export class TriggerConfigBody {
  @IsString() @MinLength(1) @MaxLength(500) query!: string;
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(20) @IsString({ each: true }) mimeTypes!: string[];
}

export class ExportConfigBody {
  @IsIn(EXPORT_DESTS) dest!: ExportDest;
  @IsIn(EXPORT_FILE_TYPES) fileType!: ExportFileType;
  @IsOptional() @IsString() @MaxLength(200) folderId?: string;
  @IsOptional() @IsEmail() to?: string;
}

export class CreateAutomationBody {
  @IsString() @MinLength(1) @MaxLength(255) name!: string;
  @IsIn(['gmail_attachment']) triggerType!: 'gmail_attachment';
  @IsObject() @ValidateNested() @Type(() => TriggerConfigBody) triggerConfig!: TriggerConfigBody;
  @IsString() jobId!: string;
  @IsString() integrationAccountId!: string;
  @IsObject() @ValidateNested() @Type(() => ExportConfigBody) exportConfig!: ExportConfigBody;
}

export class UpdateAutomationBody {
  @IsOptional() @IsBoolean() isEnabled?: boolean;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(255) name?: string;
}

export class PubSubMessageBody {
  @IsString() data!: string;
  @IsOptional() @IsString() messageId?: string;
  @IsOptional() @IsString() message_id?: string;
  @IsOptional() @IsString() publishTime?: string;
  @IsOptional() @IsString() publish_time?: string;
  @IsOptional() @IsObject() attributes?: Record<string, string>;
}

export class PubSubPushBody {
  @IsObject() @ValidateNested() @Type(() => PubSubMessageBody) message!: PubSubMessageBody;
  @IsOptional() @IsString() subscription?: string;
}
