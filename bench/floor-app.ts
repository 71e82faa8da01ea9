/**
 * The benchmark floor: a cdktf app that declares only the AWS provider (and the same local
 * backend as the examples). Synthesizing it costs what any AWS cdktf app costs: Node, ts-node,
 * cdktf and the provider's base classes.
 */
import { App, LocalBackend, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";

const app = new App();
const stack = new TerraformStack(app, "floor");
new LocalBackend(stack, { path: "terraform.floor.tfstate" });
new AwsProvider(stack, "aws", { region: "eu-west-1" });
app.synth();
