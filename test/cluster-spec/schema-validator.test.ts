import { readFileSync } from "node:fs";
import Ajv from "ajv";
import schema from "../../src/cluster-spec/cluster-spec.schema.json";
import { validate as generated } from "../../src/cluster-spec/schema-validator.generated";
import { distributedSpec } from "./fixtures";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tool = require("../../tools/generate-spec-validator.js") as { generate(): string; TARGET: string };

describe("the build-time schema validator (src/cluster-spec/schema-validator.generated.ts)", () => {
  test("is up to date with cluster-spec.schema.json (regenerate: node tools/generate-spec-validator.js)", () => {
    expect(readFileSync(tool.TARGET, "utf8")).toBe(tool.generate());
  });

  test("reports what ajv compiling the schema at run time reports, error for error", () => {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
    ajv.addKeyword({ keyword: "x-allowed", schemaType: "string" });
    const runtime = ajv.compile(schema);
    const valid = distributedSpec();
    const inputs: unknown[] = [
      valid,
      { ...valid, size: "XXXL", storageGiB: 1.5, extra: true },
      { ...valid, name: "-Bad", deployment: "clustered", network: { ...(valid as any).network, subnetIds: [1, "subnet-x"] } },
      { ...valid, patroni: { ttl: "30" }, tags: { a: 1 } },
      { name: "x" },
      {},
    ];
    const strip = (errors: unknown) => JSON.parse(JSON.stringify(errors ?? null));
    for (const input of inputs) {
      const ok = runtime(input);
      expect(generated(input)).toBe(ok);
      expect(strip((generated as any).errors)).toEqual(strip(runtime.errors));
    }
    expect(runtime(inputs[1])).toBe(false); // the comparison covers failures, not only successes
  });
});
