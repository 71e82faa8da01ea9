import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  deployedCluster,
  deployedClusterNames,
  loadPriorStateFile,
  locatePriorState,
  parsePriorState,
  PriorStateError,
  resolveReference,
} from "../../src/rules/prior-state";
import { eni, planJson, stateV4, volume } from "./fixtures";

const distributed = [
  volume("orders", 0, { size: 40, az: "eu-west-1a" }),
  volume("orders", 1, { size: 40, az: "eu-west-1b" }),
  volume("orders", 2, { size: 40, az: "eu-west-1c" }),
  eni("orders", 0, "subnet-0aaa1111"),
  eni("orders", 1, "subnet-0bbb2222"),
  eni("orders", 2, "subnet-0ccc3333"),
];

describe("parsePriorState", () => {
  test("reads the instances of a state v4 document with their addresses", () => {
    const s = parsePriorState(JSON.stringify(stateV4(distributed)), "prior.tfstate");
    expect(s.format).toBe("state-v4");
    expect(s.resources.map((r) => r.address)).toContain("aws_ebs_volume.orders_slot_0_data_volume");
    expect(s.resources).toHaveLength(6);
  });

  test("prefixes module and index key of state v4 instances", () => {
    const doc: any = stateV4([{ ...volume("orders", 0), module: "module.db" }]);
    doc.resources[0].instances[0].index_key = "a";
    const s = parsePriorState(JSON.stringify(doc), "x");
    expect(s.resources[0].address).toBe('module.db.aws_ebs_volume.orders_slot_0_data_volume["a"]');
  });

  test("reads the prior_state of a plan, child modules included", () => {
    const s = parsePriorState(JSON.stringify(planJson([volume("orders", 0), { ...volume("billing", 0), module: "module.billing" }])), "plan.json");
    expect(s.format).toBe("plan-json");
    expect(s.resources.map((r) => r.address).sort()).toEqual([
      "aws_ebs_volume.orders_slot_0_data_volume",
      "module.billing.aws_ebs_volume.billing_slot_0_data_volume",
    ]);
  });

  test("a plan of a first deployment (no prior_state) has no resources", () => {
    const s = parsePriorState(JSON.stringify({ format_version: "1.2", planned_values: {}, resource_changes: [] }), "plan.json");
    expect(s.resources).toEqual([]);
  });

  test("an empty state v4 (no resources) has no resources", () => {
    expect(parsePriorState(JSON.stringify({ version: 4, serial: 1, lineage: "x" }), "p").resources).toEqual([]);
  });

  test("text that is not JSON is an error naming the file", () => {
    expect(() => parsePriorState("not json {", "/tmp/prior.tfstate")).toThrow(/\/tmp\/prior\.tfstate: not valid JSON/);
  });

  test("a state of another format version is an error naming the version", () => {
    expect(() => parsePriorState(JSON.stringify({ version: 3, modules: [] }), "old.tfstate")).toThrow(/old\.tfstate: state format version 3/);
  });

  test("a JSON document that is neither state nor plan is an error", () => {
    expect(() => parsePriorState(JSON.stringify({ hello: "world" }), "x.json")).toThrow(PriorStateError);
  });

  test("a state resource without instances is an error naming its position", () => {
    expect(() => parsePriorState(JSON.stringify({ version: 4, resources: [{ type: "aws_ebs_volume", name: "v" }] }), "s")).toThrow(/resources\[0\]/);
  });
});

describe("loadPriorStateFile", () => {
  test("a missing file is an error naming the file", () => {
    const missing = path.join(os.tmpdir(), "mp-no-such-prior.tfstate");
    expect(() => loadPriorStateFile(missing)).toThrow(new RegExp(`${missing.replace(/[.]/g, "\\.")}.*ENOENT`));
  });

  test("reads a state file from disk", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-prior-"));
    const file = path.join(dir, "prior.tfstate");
    fs.writeFileSync(file, JSON.stringify(stateV4(distributed)));
    try {
      expect(loadPriorStateFile(file).resources).toHaveLength(6);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("deployedCluster", () => {
  const state = parsePriorState(JSON.stringify(stateV4([...distributed, volume("billing", 0, { model: "standalone", size: 8, version: "15" })])), "prior.tfstate");

  test("reads model, storage and version from the cluster's volume tags", () => {
    const d = deployedCluster(state, "orders")!;
    expect([d.deployment, d.storageGiB, d.majorVersion]).toEqual(["distributed", 40, 17]);
  });

  test("reads each slot's availability zone and subnet", () => {
    const d = deployedCluster(state, "orders")!;
    expect(d.slots.map((s) => [s.slot, s.availabilityZone, s.subnetId])).toEqual([
      [0, "eu-west-1a", "subnet-0aaa1111"],
      [1, "eu-west-1b", "subnet-0bbb2222"],
      [2, "eu-west-1c", "subnet-0ccc3333"],
    ]);
  });

  test("keeps clusters apart by the cluster tag", () => {
    expect(deployedCluster(state, "billing")).toMatchObject({ deployment: "standalone", storageGiB: 8, majorVersion: 15 });
  });

  test("a cluster without volumes in the state is not deployed", () => {
    expect(deployedCluster(state, "inventory")).toBeUndefined();
  });

  test("reads the same facts from a plan's prior state as from the state", () => {
    const fromPlan = deployedCluster(parsePriorState(JSON.stringify(planJson(distributed)), "prior.tfstate"), "orders");
    expect(fromPlan).toEqual(deployedCluster(state, "orders"));
  });

  test("lists the clusters a state records", () => {
    expect(deployedClusterNames(state)).toEqual(["billing", "orders"]);
  });
});

describe("resolveReference", () => {
  const state = parsePriorState(
    JSON.stringify(stateV4([{ type: "aws_subnet", name: "private-1_A0", attributes: { id: "subnet-0bbb2222", availability_zone: "eu-west-1b" } }])),
    "p",
  );

  test("a plain reference to a resource attribute resolves to the recorded value", () => {
    expect(resolveReference(state, "${aws_subnet.private-1_A0.id}")).toBe("subnet-0bbb2222");
  });

  test("an expression that is not a plain reference does not resolve", () => {
    expect(resolveReference(state, "${element(var.subnet_ids, 1)}")).toBeUndefined();
  });

  test("a reference to a resource the state does not hold does not resolve", () => {
    expect(resolveReference(state, "${aws_subnet.private-9_Z.id}")).toBeUndefined();
  });
});

describe("locatePriorState", () => {
  const exists = () => true;
  test("the context key wins over the env var and the local backend", () => {
    expect(locatePriorState({ context: "a.tfstate", env: "b.tfstate", localBackendPath: "c.tfstate", exists })).toEqual({ file: "a.tfstate", origin: "context" });
  });
  test("the env var wins over the local backend", () => {
    expect(locatePriorState({ env: "b.tfstate", localBackendPath: "c.tfstate", exists })).toEqual({ file: "b.tfstate", origin: "env" });
  });
  test("the local backend's state file is used when it exists", () => {
    expect(locatePriorState({ localBackendPath: "c.tfstate", exists })).toEqual({ file: "c.tfstate", origin: "local-backend" });
  });
  test("no file named and no local state: first deployment", () => {
    expect(locatePriorState({ localBackendPath: "c.tfstate", exists: () => false })).toBeUndefined();
  });
  test("a context value that is not a string is an error", () => {
    expect(() => locatePriorState({ context: 42 })).toThrow(/managed-postgres:priorState/);
  });
});

describe("robustness", () => {
  const fc = require("fast-check") as typeof import("fast-check");

  test("property: any JSON document is either read or refused with a PriorStateError naming the file", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          fc.record({ version: fc.constant(4), resources: fc.jsonValue() }).map((d) => JSON.stringify(d)),
          fc.record({ format_version: fc.constant("1.2"), prior_state: fc.jsonValue() }).map((d) => JSON.stringify(d)),
        ),
        (text) => {
          try {
            const s = parsePriorState(text, "fuzz.tfstate");
            deployedCluster(s, "orders");
            return true;
          } catch (e) {
            return e instanceof PriorStateError && e.message.includes("fuzz.tfstate");
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
