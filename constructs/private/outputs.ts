/**
 * The Terraform outputs both targets give a cluster, under the same names: `<id>_<key>`,
 * `<id>` the construct id in snake case (`orders` → `orders_read_write_endpoint`).
 */
import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { snake } from "./naming";
import { readOnlyValidation } from "./resolve-once";

/** One output: its key (the name's suffix), value (a token or a literal) and description. */
export interface ClusterOutput {
  readonly key: string;
  readonly value: string | number | readonly string[];
  readonly description: string;
}

/** The outputs one cluster created, by their Terraform names. */
interface ClusterOutputs {
  readonly scope: Construct;
  readonly prefix: string;
  readonly created: ReadonlySet<TerraformOutput>;
  readonly names: ReadonlySet<string>;
}

/** The clusters of each stack whose outputs the stack's validation checks (one validation per stack). */
const clusterOutputsOf = new WeakMap<TerraformStack, ClusterOutputs[]>();

/**
 * Adds each output as a child `<key>-output` of `scope` with logical id `<snake(id)>_<key>`,
 * in the order given. Terraform output names are per stack and cdktf keeps only one of two
 * outputs with the same name, silently: synth (validation) fails instead when another output
 * of the stack has one of these names (an output of your own from before the construct had
 * them, or a cluster whose id has the same snake case). The check is one validation of the
 * stack, which lists the stack's outputs once for all its clusters (a validation per
 * cluster, each listing the whole stack, cost a stack of N clusters N² visits).
 */
export function addClusterOutputs(scope: Construct, id: string, outputs: readonly ClusterOutput[]): void {
  const prefix = snake(id);
  const created = outputs.map(({ key, value, description }) => {
    const o = new TerraformOutput(scope, `${key}-output`, { value, description });
    o.overrideLogicalId(`${prefix}_${key}`);
    return o;
  });
  const stack = TerraformStack.of(scope);
  let clusters = clusterOutputsOf.get(stack);
  if (!clusters) {
    const registered: ClusterOutputs[] = [];
    clusters = registered;
    clusterOutputsOf.set(stack, registered);
    stack.node.addValidation(readOnlyValidation({ validate: () => duplicateOutputErrors(stack, registered) }));
  }
  clusters.push({ scope, prefix, created: new Set(created), names: new Set(created.map((o) => o.friendlyUniqueId)) });
}

/** One error per output of `stack` that has the name of a cluster's output without being it, per cluster. */
function duplicateOutputErrors(stack: TerraformStack, clusters: readonly ClusterOutputs[]): string[] {
  const outputs = stack.node.findAll().filter((c): c is TerraformOutput => c instanceof TerraformOutput);
  return clusters.flatMap(({ scope, prefix, created, names }) =>
    outputs
      .filter((c) => !created.has(c) && names.has(c.friendlyUniqueId))
      .map(
        (c) =>
          `Terraform output \`${c.friendlyUniqueId}\` is defined twice: by ${c.node.path} and by the cluster ${scope.node.path}, which names its outputs \`${prefix}_<what>\` (docs/UPGRADING.md); remove or rename the other one`,
      ),
  );
}

/** The description of the read-only endpoint output of a standalone cluster (both targets). */
export const STANDALONE_READ_ONLY_DESCRIPTION = "Standalone clusters have one endpoint: the read-write one.";

/** The description of the backup bucket output (both targets). */
export const BACKUP_BUCKET_DESCRIPTION = "Name of the S3 bucket holding the pgBackRest repository and logical dumps.";
