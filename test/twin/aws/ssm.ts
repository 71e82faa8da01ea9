/**
 * Systems Manager Parameter Store of the twin (JSON 1.1, `X-Amz-Target: AmazonSSM.<Action>`):
 * PutParameter, GetParameter, GetParameters and DeleteParameter with AWS's semantics for what
 * the nodes use (https://docs.aws.amazon.com/systems-manager/latest/APIReference/):
 *
 * - PutParameter creates version 1; on an existing name it needs `Overwrite: true` (else
 *   `ParameterAlreadyExists`) and stores the next version (also for an unchanged value, as
 *   AWS does). A new parameter needs a `Type`; `Overwrite` with `Tags` is a ValidationException.
 *   Types `String` and `StringList`; `SecureString` is not implemented (the twin answers
 *   `ValidationException` saying so). Standard tier: a value of at most 4096 characters.
 * - GetParameter / GetParameters by name, ARN or `name:<version>`; an unknown name is
 *   `ParameterNotFound` (GetParameters lists it in `InvalidParameters`), an unknown version
 *   `ParameterVersionNotFound`.
 * - DeleteParameter; an unknown name is `ParameterNotFound`.
 *
 * Every call is authorized (before the parameter is looked up, as on AWS) as
 * `ssm:<Action>` on `arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash>`
 * with the parameter's tags as `aws:ResourceTag/*`, and PutParameter's `ssm:Overwrite`
 * ("true"/"false") when the request sets Overwrite.
 */
import { resourceTagContext } from "./authorize";
import type { CallContext } from "./context";
import { AwsError } from "./errors";
import type { TwinParameter, TwinWorld } from "./world";

/** Standard-tier value limit, in characters (https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html). */
export const STANDARD_VALUE_LIMIT = 4096;

/** One stored version of a parameter. */
export interface ParameterVersion {
  readonly version: number;
  readonly value: string;
  readonly type: string;
  /** Seconds since the epoch (the JSON protocol's timestamp). */
  readonly modified: number;
}

/** A parameter's history, newest last. */
export interface ParameterState {
  readonly name: string;
  tags: Record<string, string>;
  versions: ParameterVersion[];
}

/** The ARN of parameter `name` (leading slash dropped: `/a/b` → `…:parameter/a/b`). */
export function parameterArn(w: Pick<TwinWorld, "region" | "accountId">, name: string): string {
  return `arn:aws:ssm:${w.region}:${w.accountId}:parameter/${name.replace(/^\//, "")}`;
}

/**
 * A GetParameter/PutParameter `Name` (a name, an ARN, optionally `:<version>`) → the
 * parameter's name and the version asked for.
 * @throws AwsError ValidationException for a name AWS refuses: empty, over 1011 characters,
 *   characters outside `a-zA-Z0-9_.-/`, a `/` without a leading slash, a prefix `aws` or `ssm`
 *   (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html)
 */
export function parseParameterName(w: Pick<TwinWorld, "region" | "accountId">, raw: unknown, allowSelector: boolean): { name: string; version?: number } {
  let s = String(raw ?? "");
  let version: number | undefined;
  const prefix = parameterArn(w, "");
  if (s.startsWith(prefix)) {
    const rest = s.slice(prefix.length);
    s = rest.includes("/") ? `/${rest}` : rest;
  }
  const sel = allowSelector ? /^(.*):(\d+)$/.exec(s) : null;
  if (sel) {
    s = sel[1]!;
    version = Number(sel[2]);
  }
  if (!s || s.length > 1011 || !/^[a-zA-Z0-9_.\-/]+$/.test(s)) {
    throw new AwsError("ValidationException", `Parameter name: can't be empty and must contain only a-zA-Z0-9_.-/ characters, at most 1011 of them: ${s}`);
  }
  if (s.includes("/") && !s.startsWith("/")) throw new AwsError("ValidationException", "Parameter name must be a fully qualified name.");
  if (/^\/?(aws|ssm)/i.test(s)) throw new AwsError("ValidationException", `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive).`);
  return version === undefined ? { name: s } : { name: s, version };
}

/**
 * PutParameter's semantics on `params` (mutated): a new parameter gets version 1, an existing
 * one the next version when `Overwrite` is true.
 * @returns the stored version
 * @throws AwsError ParameterAlreadyExists, ValidationException (no Type for a new parameter,
 *   Overwrite with Tags, a value over 4096 characters, SecureString, an unknown type)
 */
export function putParameterVersion(params: ParameterState[], name: string, req: Record<string, unknown>, now = Date.now() / 1000): ParameterVersion {
  const value = req.Value;
  if (typeof value !== "string" || value.length === 0) throw new AwsError("ValidationException", "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1");
  if (value.length > STANDARD_VALUE_LIMIT) {
    throw new AwsError(
      "ValidationException",
      `Standard tier parameters support a maximum parameter value of ${STANDARD_VALUE_LIMIT} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html`,
    );
  }
  const overwrite = req.Overwrite === true;
  if (overwrite && Array.isArray(req.Tags) && req.Tags.length) {
    throw new AwsError(
      "ValidationException",
      "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
    );
  }
  const type = req.Type as string | undefined;
  if (type === "SecureString") throw new AwsError("ValidationException", "SecureString parameters are not implemented by the twin");
  if (type !== undefined && type !== "String" && type !== "StringList") {
    throw new AwsError("ValidationException", `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`);
  }
  const existing = params.find((p) => p.name === name);
  if (existing) {
    if (!overwrite) throw new AwsError("ParameterAlreadyExists", "The parameter already exists. To overwrite this request value, set the overwrite option in the request to true.");
    const last = existing.versions[existing.versions.length - 1]!;
    const v: ParameterVersion = { version: last.version + 1, value, type: type ?? last.type, modified: now };
    existing.versions.push(v);
    return v;
  }
  if (type === undefined) throw new AwsError("ValidationException", "A parameter type is required when you create a parameter.");
  const tags = Object.fromEntries(((req.Tags as { Key: string; Value: string }[] | undefined) ?? []).map((t) => [t.Key, t.Value]));
  const v: ParameterVersion = { version: 1, value, type, modified: now };
  params.push({ name, tags, versions: [v] });
  return v;
}

export class SsmService {
  private readonly params: ParameterState[] = [];

  constructor(private readonly world: TwinWorld) {
    for (const p of world.parameters) this.add(p);
  }

  /** Registers a parameter of the world (as Terraform created it: its value is version `version`, default 1). */
  add(p: TwinParameter): void {
    this.params.push({ name: p.name, tags: { ...(p.tags ?? {}) }, versions: [{ version: p.version ?? 1, value: p.value, type: p.type, modified: Date.now() / 1000 }] });
  }

  /** The current value and version of parameter `name`; undefined when it does not exist. */
  read(name: string): { value: string; version: number; type: string } | undefined {
    const p = this.params.find((x) => x.name === name);
    const v = p?.versions[p.versions.length - 1];
    return v && { value: v.value, version: v.version, type: v.type };
  }

  private async authorize(ctx: CallContext, action: string, name: string, extra: Record<string, string> = {}): Promise<void> {
    const p = this.params.find((x) => x.name === name);
    await ctx.authorize(`ssm:${action}`, parameterArn(this.world, name), { context: { ...resourceTagContext(p?.tags), ...extra } });
  }

  private view(p: ParameterState, version?: number): Record<string, unknown> {
    const v = version === undefined ? p.versions[p.versions.length - 1]! : p.versions.find((x) => x.version === version);
    if (!v) throw new AwsError("ParameterVersionNotFound", `Systems Manager could not find version ${version} of ${p.name}. Verify the version and try again.`);
    return {
      Name: p.name,
      Type: v.type,
      Value: v.value,
      Version: v.version,
      ...(version !== undefined ? { Selector: `:${version}` } : {}),
      LastModifiedDate: v.modified,
      ARN: parameterArn(this.world, p.name),
      DataType: "text",
    };
  }

  async handle(ctx: CallContext, action: string, req: Record<string, unknown>): Promise<unknown> {
    switch (action) {
      case "PutParameter": {
        const { name } = parseParameterName(this.world, req.Name, false);
        await this.authorize(ctx, action, name, req.Overwrite === undefined ? {} : { "ssm:Overwrite": String(req.Overwrite === true) });
        const v = putParameterVersion(this.params, name, req);
        return { Version: v.version, Tier: "Standard" };
      }
      case "GetParameter": {
        const { name, version } = parseParameterName(this.world, req.Name, true);
        await this.authorize(ctx, action, name);
        const p = this.params.find((x) => x.name === name);
        if (!p) throw new AwsError("ParameterNotFound", "");
        return { Parameter: this.view(p, version) };
      }
      case "GetParameters": {
        const names = (req.Names as unknown[] | undefined) ?? [];
        if (names.length < 1 || names.length > 10) {
          throw new AwsError("ValidationException", "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10, greater than or equal to 1");
        }
        const Parameters: Record<string, unknown>[] = [];
        const InvalidParameters: string[] = [];
        for (const raw of names) {
          const { name, version } = parseParameterName(this.world, raw, true);
          await this.authorize(ctx, action, name);
          const p = this.params.find((x) => x.name === name);
          if (!p || (version !== undefined && !p.versions.some((v) => v.version === version))) InvalidParameters.push(String(raw));
          else Parameters.push(this.view(p, version));
        }
        return { Parameters, InvalidParameters };
      }
      case "DeleteParameter": {
        const { name } = parseParameterName(this.world, req.Name, false);
        await this.authorize(ctx, action, name);
        const i = this.params.findIndex((x) => x.name === name);
        if (i < 0) throw new AwsError("ParameterNotFound", "");
        this.params.splice(i, 1);
        return {};
      }
      default:
        throw new AwsError("InvalidAction", `ssm.${action} is not implemented by the twin`);
    }
  }
}
