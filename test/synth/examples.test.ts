import { Testing } from "cdktf";
import { DistributedExample } from "../../examples/distributed/main";
import { StandaloneExample } from "../../examples/standalone/main";

describe.each([
  ["distributed", (app: any) => new DistributedExample(app, "distributed"), "orders", 3],
  ["standalone", (app: any) => new StandaloneExample(app, "standalone"), "cms", 1],
] as const)("examples/%s", (name, build, cluster, subnets) => {
  const app = Testing.app();
  const stack = build(app);
  const text = Testing.synth(stack);
  const json = JSON.parse(text);

  test("synthesizes with no input, from its postgres.yaml", () => {
    expect(stack.database.spec.name).toBe(cluster);
    expect(Object.keys(json.output)).toContain(`${cluster}_read_write_endpoint`);
  });

  test("keeps state in a relative local backend path", () => {
    expect(json.terraform.backend.local.path).toBe(`terraform.${name}.tfstate`);
  });

  test("contains no absolute path of the machine it was synthesized on", () => {
    expect(text).not.toContain(process.cwd());
  });

  test("creates private subnets with no internet gateway or public IPs", () => {
    expect(Object.keys(json.resource.aws_subnet)).toHaveLength(subnets);
    for (const s of Object.values<any>(json.resource.aws_subnet)) expect(s.map_public_ip_on_launch).toBe(false);
    expect(json.resource.aws_internet_gateway).toBeUndefined();
    expect(json.resource.aws_nat_gateway).toBeUndefined();
  });

  test("reaches S3 through a gateway endpoint and the other AWS APIs (Auto Scaling too) through interface endpoints", () => {
    const services = Object.values<any>(json.resource.aws_vpc_endpoint).map((e) => `${e.service_name.split(".").pop()}:${e.vpc_endpoint_type}`);
    expect(services.sort()).toEqual([
      "autoscaling:Interface",
      "ec2:Interface",
      "kms:Interface",
      "logs:Interface",
      "monitoring:Interface",
      "s3:Gateway",
      "secretsmanager:Interface",
    ]);
  });
});
