import type { Command } from "commander";
import { loadSpecFile, SpecValidationError } from "../cluster-spec";

/** `managed-postgres validate <spec-file>`: exit 0 and a summary when valid, 1 with every problem when not. */
export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("Validate a cluster spec file (YAML or JSON) against the JSON Schema and the cross-field rules")
    .argument("<spec-file>", "path to postgres.yaml or a .json spec")
    .option("--require-network", "fail when the spec has no `network` section", false)
    .action((file: string, opts: { requireNetwork: boolean }) => {
      try {
        const { spec } = loadSpecFile(file, { requireNetwork: opts.requireNetwork });
        process.stdout.write(
          `${file}: valid — cluster "${spec.name}", ${spec.deployment}, size ${spec.size}, ${spec.storageGiB} GiB, PostgreSQL ${spec.majorVersion}\n`,
        );
      } catch (err) {
        if (err instanceof SpecValidationError) {
          process.stderr.write(`${err.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}
