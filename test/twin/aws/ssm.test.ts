import type { CallContext } from "./context";
import { AwsError } from "./errors";
import { twinServiceNames } from "./index";
import { parameterArn, parseParameterName, putParameterVersion, SsmService, STANDARD_VALUE_LIMIT, type ParameterState } from "./ssm";
import type { TwinWorld } from "./world";

const W = { region: "eu-west-1", accountId: "111122223333" };
const NAME = "/managed-postgres/orders/ca-certificate";
const ARN = "arn:aws:ssm:eu-west-1:111122223333:parameter/managed-postgres/orders/ca-certificate";

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof AwsError ? `${e.code}: ${e.message}` : `not an AwsError: ${String(e)}`;
  }
  return "no error";
}

describe("parameter names and ARNs", () => {
  test("the twin answers and certifies ssm.<region>.amazonaws.com", () => {
    expect(twinServiceNames("eu-west-1")).toContain("ssm.eu-west-1.amazonaws.com");
  });

  test("the ARN drops the leading slash once; a plain name stays as it is", () => {
    expect(parameterArn(W, NAME)).toBe(ARN);
    expect(parameterArn(W, "plain")).toBe("arn:aws:ssm:eu-west-1:111122223333:parameter/plain");
  });

  test("a name, its ARN and a :version selector name the same parameter", () => {
    expect(parseParameterName(W, NAME, true)).toEqual({ name: NAME });
    expect(parseParameterName(W, ARN, true)).toEqual({ name: NAME });
    expect(parseParameterName(W, `${NAME}:3`, true)).toEqual({ name: NAME, version: 3 });
    expect(parseParameterName(W, "arn:aws:ssm:eu-west-1:111122223333:parameter/plain", true)).toEqual({ name: "plain" });
  });

  test("names AWS refuses: a selector where none is allowed, a / without a leading slash, an aws/ssm prefix, other characters, empty", () => {
    expect(codeOf(() => parseParameterName(W, `${NAME}:3`, false))).toMatch(/^ValidationException/);
    expect(codeOf(() => parseParameterName(W, "managed-postgres/x", true))).toBe("ValidationException: Parameter name must be a fully qualified name.");
    expect(codeOf(() => parseParameterName(W, "/aws/x", true))).toMatch(/^ValidationException: Parameter name: can't be prefixed with "aws" or "ssm"/);
    expect(codeOf(() => parseParameterName(W, "SSM-test", true))).toMatch(/prefixed with "aws" or "ssm"/);
    expect(codeOf(() => parseParameterName(W, "/a b", true))).toMatch(/^ValidationException/);
    expect(codeOf(() => parseParameterName(W, "", true))).toMatch(/^ValidationException/);
  });
});

describe("PutParameter's version semantics", () => {
  test("version 1 on create; the same name without Overwrite is ParameterAlreadyExists; with Overwrite the next version, also for an unchanged value", () => {
    const ps: ParameterState[] = [];
    expect(putParameterVersion(ps, NAME, { Value: "a", Type: "String" }, 10)).toEqual({ version: 1, value: "a", type: "String", modified: 10 });
    expect(codeOf(() => putParameterVersion(ps, NAME, { Value: "b", Type: "String" }))).toBe(
      "ParameterAlreadyExists: The parameter already exists. To overwrite this request value, set the overwrite option in the request to true.",
    );
    expect(putParameterVersion(ps, NAME, { Value: "b", Type: "String", Overwrite: true }).version).toBe(2);
    expect(putParameterVersion(ps, NAME, { Value: "b", Overwrite: true })).toMatchObject({ version: 3, type: "String" });
    expect(ps[0]!.versions.map((v) => v.value)).toEqual(["a", "b", "b"]);
  });

  test("refused: a new parameter without Type, Overwrite with Tags, an empty or over-4096-character value, SecureString, an unknown type", () => {
    const ps: ParameterState[] = [];
    expect(codeOf(() => putParameterVersion(ps, NAME, { Value: "a" }))).toBe("ValidationException: A parameter type is required when you create a parameter.");
    expect(codeOf(() => putParameterVersion(ps, NAME, { Value: "a", Type: "String", Overwrite: true, Tags: [{ Key: "k", Value: "v" }] }))).toMatch(/tags and overwrite can't be used together/);
    expect(codeOf(() => putParameterVersion(ps, NAME, { Value: "", Type: "String" }))).toMatch(/^ValidationException/);
    expect(codeOf(() => putParameterVersion(ps, NAME, { Value: "x".repeat(STANDARD_VALUE_LIMIT + 1), Type: "String" }))).toMatch(/maximum parameter value of 4096 characters/);
    expect(putParameterVersion(ps, NAME, { Value: "x".repeat(STANDARD_VALUE_LIMIT), Type: "String" }).version).toBe(1);
    expect(codeOf(() => putParameterVersion(ps, "/other", { Value: "a", Type: "SecureString" }))).toMatch(/not implemented by the twin/);
    expect(codeOf(() => putParameterVersion(ps, "/other", { Value: "a", Type: "Text" }))).toMatch(/enum value set/);
    expect(ps.map((p) => p.name)).toEqual([NAME]);
  });
});

describe("SsmService", () => {
  const world = (): TwinWorld =>
    ({ ...W, roles: [], instanceProfiles: [], instances: [], networkInterfaces: [], volumes: [], secrets: [], kmsKeys: [], buckets: [], autoScalingGroups: [], parameters: [{ name: NAME, type: "String", value: "pending", tags: { "managed-postgres:cluster": "orders" } }] }) as TwinWorld;
  /** A context that records what is authorized and refuses `deny`. */
  const context = (seen: { action: string; resource: string; context?: Record<string, unknown> }[], deny = "") =>
    ({
      async authorize(action: string, resource: string, o: { context?: Record<string, unknown> } = {}) {
        seen.push({ action, resource, context: o.context });
        if (action === deny) throw new AwsError("AccessDeniedException", `not authorized to perform: ${action}`);
        return {};
      },
    }) as unknown as CallContext;

  test("the Terraform-written value is version 1; Put/Get/GetParameters/Delete are authorized on the parameter's ARN with its tags", async () => {
    const s = new SsmService(world());
    const seen: { action: string; resource: string; context?: Record<string, unknown> }[] = [];
    const ctx = context(seen);
    expect(await s.handle(ctx, "GetParameter", { Name: NAME })).toMatchObject({ Parameter: { Name: NAME, Value: "pending", Version: 1, Type: "String", ARN }, });
    expect(await s.handle(ctx, "PutParameter", { Name: NAME, Value: "PEM", Type: "String", Overwrite: true })).toEqual({ Version: 2, Tier: "Standard" });
    expect(await s.handle(ctx, "GetParameter", { Name: `${NAME}:1` })).toMatchObject({ Parameter: { Value: "pending", Version: 1, Selector: ":1" } });
    expect(await s.handle(ctx, "GetParameters", { Names: [ARN, "/missing", `${NAME}:7`] })).toMatchObject({ Parameters: [{ Name: NAME, Value: "PEM", Version: 2 }], InvalidParameters: ["/missing", `${NAME}:7`] });
    await expect(s.handle(ctx, "GetParameter", { Name: `${NAME}:7` })).rejects.toMatchObject({ code: "ParameterVersionNotFound" });
    expect(await s.handle(ctx, "DeleteParameter", { Name: NAME })).toEqual({});
    await expect(s.handle(ctx, "GetParameter", { Name: NAME })).rejects.toMatchObject({ code: "ParameterNotFound" });
    await expect(s.handle(ctx, "DeleteParameter", { Name: NAME })).rejects.toMatchObject({ code: "ParameterNotFound" });
    expect(seen[0]).toEqual({ action: "ssm:GetParameter", resource: ARN, context: { "aws:ResourceTag/managed-postgres:cluster": "orders" } });
    expect(seen[1]).toMatchObject({ action: "ssm:PutParameter", resource: ARN, context: { "ssm:Overwrite": "true" } });
    expect(seen.map((x) => x.action)).toEqual(["ssm:GetParameter", "ssm:PutParameter", "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParameters", "ssm:GetParameters", "ssm:GetParameter", "ssm:DeleteParameter", "ssm:GetParameter", "ssm:DeleteParameter"]);
    expect(seen.every((x) => x.resource.startsWith("arn:aws:ssm:eu-west-1:111122223333:parameter/"))).toBe(true);
  });

  test("authorization comes before the lookup and the write: a refused PutParameter stores nothing", async () => {
    const s = new SsmService(world());
    await expect(s.handle(context([], "ssm:PutParameter"), "PutParameter", { Name: NAME, Value: "PEM", Overwrite: true })).rejects.toMatchObject({ code: "AccessDeniedException" });
    await expect(s.handle(context([], "ssm:GetParameter"), "GetParameter", { Name: "/missing" })).rejects.toMatchObject({ code: "AccessDeniedException" });
    expect(s.read(NAME)).toEqual({ value: "pending", version: 1, type: "String" });
  });
});
